// The disconnect policy over the real transports: two instances on one Redis, participants known
// by their tokens. A participant whose last connection has been gone for grace_ms is paused
// once, with the reason in the STATE, whichever instance it was connected to.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import type { CreateSessionInput, SessionView } from '../../src/types/session.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { testDataDir } from '../helpers/testDataDir.js';
import { signedToken } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';
import { openSocket, type TestSocket } from '../helpers/wsClient.js';

const SECRET = 'disconnect-policy-test-secret-0123456789';
/** The shortest grace the API takes; the pause comes this long after the last connection closed. */
const GRACE_MS = 1000;
const POLICY = { grace_ms: GRACE_MS, action: 'pause' } as const;

const token = (claims: Record<string, unknown>): Promise<string> => signedToken(SECRET, claims);

let redisServer: RedisServerHandle;
let redis: Redis;
let a: RunningServer;
let b: RunningServer;
let admin: string;
const sockets: TestSocket[] = [];

function startInstance(): Promise<RunningServer> {
  return startServer(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: redisServer.url,
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'silent',
      DATA_DIR: testDataDir(),
    }),
    { logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }) },
  );
}

beforeAll(async () => {
  redisServer = await startRedisServer();
  redis = new Redis(redisServer.url);
  [a, b] = await Promise.all([startInstance(), startInstance()]);
  admin = await token({ sub: 'td', role: 'admin' });
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.ws.terminate();
  await Promise.all([a?.close(), b?.close()]);
  redis?.disconnect();
  await redisServer?.close();
});

async function call(server: RunningServer, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${admin}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as SessionView & { error?: { code: string; message: string } },
  };
}

async function createStarted(input: Partial<CreateSessionInput> = {}): Promise<SessionView> {
  const sessionId = `g-${randomUUID().slice(0, 8)}`;
  const created = await call(a, 'POST', '/v1/sessions', {
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
    total_time_ms: 600_000,
    on_disconnect: POLICY,
    ...input,
  });
  expect(created.status).toBe(201);
  return (await call(a, 'POST', `/v1/sessions/${sessionId}/start`)).body;
}

/** A participant's (or admin's) socket on `server`, subscribed to the session by its URL. */
async function connect(server: RunningServer, sessionId: string, bearer: string): Promise<TestSocket> {
  const url = `${server.url.replace('http', 'ws')}/v1/ws?session_id=${sessionId}&token=${bearer}`;
  const socket = await openSocket(url);
  sockets.push(socket);
  await socket.nextState(sessionId);
  return socket;
}

async function participant(server: RunningServer, sessionId: string, id: string): Promise<TestSocket> {
  return connect(server, sessionId, await token({ sub: id, role: 'participant', session_id: sessionId }));
}

async function view(sessionId: string): Promise<SessionView> {
  return (await call(b, 'GET', `/v1/sessions/${sessionId}`)).body;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Long enough for a pause that should have come to be seen: grace, a sweep poll, margins. */
const SETTLE_MS = GRACE_MS + 1500;

describe('the disconnect policy', () => {
  it('pauses a participant once after its last connection closes, seen from both instances', async () => {
    const { session_id: id, version } = await createStarted();
    const watchA = await connect(a, id, admin);
    const watchB = await connect(b, id, admin);
    const onA = await participant(a, id, 'white');
    const onB = await participant(b, id, 'white');

    await onA.close();
    await sleep(SETTLE_MS);
    expect(await view(id)).toMatchObject({ status: 'running', version });

    const closedAtMs = Date.now();
    await onB.close();
    const paused = await watchA.nextState(id, (s) => s.status === 'paused', 10_000);
    expect(Date.now() - closedAtMs).toBeGreaterThanOrEqual(GRACE_MS);
    expect(paused).toMatchObject({
      version: version + 1,
      event: 'paused',
      pause_reason: 'disconnected',
      pause_participant_id: 'white',
    });
    expect(await watchB.nextState(id, (s) => s.status === 'paused')).toMatchObject({ version: version + 1 });
    await sleep(SETTLE_MS);
    expect((await view(id)).version).toBe(version + 1);
    for (const watcher of [watchA, watchB]) {
      const pausedStates = watcher.messages.filter((m) => m.type === 'STATE' && m.state?.status === 'paused');
      expect(pausedStates).toHaveLength(1);
    }
  }, 30_000);

  it('a reconnect within the grace pauses nothing; one after the pause leaves it paused', async () => {
    const { session_id: id, version } = await createStarted();
    const first = await participant(a, id, 'white');
    await first.close();
    await sleep(GRACE_MS / 4);
    const again = await participant(b, id, 'white');
    await sleep(SETTLE_MS);
    expect(await view(id)).toMatchObject({ status: 'running', version });

    await again.close();
    await until(async () => (await view(id)).status === 'paused', 10_000, 'the pause');
    await participant(a, id, 'white');
    await sleep(SETTLE_MS);
    expect(await view(id)).toMatchObject({ status: 'paused', version: version + 1 });
    // Resumed by an operator, it runs with the participant connected.
    expect((await call(a, 'POST', `/v1/sessions/${id}/resume`)).body.status).toBe('running');
    await sleep(SETTLE_MS);
    expect((await view(id)).status).toBe('running');
  }, 30_000);

  it("concurrent: only the gone participant's clock pauses", async () => {
    const { session_id: id } = await createStarted({ concurrent: true });
    await participant(a, id, 'white');
    const black = await participant(b, id, 'black');
    await black.close();
    await until(
      async () => (await view(id)).participants.some((p) => p.status === 'paused'),
      10_000,
      'the pause',
    );
    const paused = await view(id);
    expect(paused.status).toBe('running');
    expect(paused.participants.map((p) => [p.participant_id, p.status])).toEqual([
      ['white', 'running'],
      ['black', 'paused'],
    ]);
    expect(paused).toMatchObject({ pause_reason: 'disconnected', pause_participant_id: 'black' });
  }, 30_000);

  it('a gone participant without the turn is paused when its turn comes', async () => {
    const { session_id: id, version } = await createStarted();
    await participant(a, id, 'white');
    const black = await participant(b, id, 'black');
    await black.close();
    await sleep(SETTLE_MS);
    expect(await view(id)).toMatchObject({ status: 'running', version, active_participant_id: 'white' });
    await call(a, 'POST', `/v1/sessions/${id}/switch`);
    await until(async () => (await view(id)).status === 'paused', 10_000, 'the pause at its turn');
    expect(await view(id)).toMatchObject({
      version: version + 2,
      active_participant_id: 'black',
      pause_participant_id: 'black',
    });
  }, 30_000);

  it('a session without the policy writes no presence (one with it does)', async () => {
    const { session_id: watched } = await createStarted();
    const present = await participant(a, watched, 'white');
    expect((await redis.keys(`*${watched}:presence`)).length).toBe(1);
    await present.close();

    const { session_id: id } = await createStarted({ on_disconnect: undefined });
    const white = await participant(a, id, 'white');
    await sleep(1200);
    await white.close();
    await sleep(300);
    const keys = await redis.keys(`*${id}*`);
    expect(keys.filter((key) => key.endsWith(':presence'))).toEqual([]);
    const indexes = await redis.keys('*:disconnects');
    for (const index of indexes) {
      const members = await redis.zrange(index, 0, -1);
      expect(members.filter((m) => m.startsWith(`${id}|`))).toEqual([]);
    }
  }, 30_000);

  it.each([
    [{ grace_ms: 999, action: 'pause' }, 'on_disconnect.grace_ms'],
    [{ grace_ms: 3_600_001, action: 'pause' }, 'on_disconnect.grace_ms'],
    [{ grace_ms: 1500.5, action: 'pause' }, 'on_disconnect.grace_ms'],
    [{ grace_ms: 5000, action: 'complete' }, 'on_disconnect.action'],
    [{ grace_ms: 5000 }, 'on_disconnect.action'],
  ])('refuses on_disconnect %j naming %s, creating nothing', async (policy, path) => {
    const sessionId = `bad-${randomUUID().slice(0, 8)}`;
    const refused = await call(a, 'POST', '/v1/sessions', {
      session_id: sessionId,
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'white' }],
      total_time_ms: 60_000,
      on_disconnect: policy,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error?.code).toBe('VALIDATION_ERROR');
    expect(JSON.stringify(refused.body)).toContain(path);
    expect((await call(a, 'GET', `/v1/sessions/${sessionId}`)).status).toBe(404);
  });
});
