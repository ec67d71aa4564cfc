// The disconnect policy when an instance dies: the participant's only connection was on a server
// process that is SIGKILLed; it renews nothing more, its lease runs out, and the other instance
// pauses the participant a grace after that, once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import type { SessionView } from '../../src/types/session.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { startHttpService, stopAllServices } from '../helpers/serviceProcess.js';
import { testDataDir } from '../helpers/testDataDir.js';
import { signedToken } from '../helpers/tokens.js';
import { until } from '../helpers/until.js';
import { openSocket } from '../helpers/wsClient.js';

const SECRET = 'disconnect-policy-e2e-secret-0123456789';
const GRACE_MS = 1000;
/** PresenceTracker's lease: what a killed instance's last renewal still holds the participant for. */
const LEASE_MS = 3000;

const token = (claims: Record<string, unknown>): Promise<string> => signedToken(SECRET, claims);

let redisServer: RedisServerHandle;
let survivor: RunningServer;

beforeAll(async () => {
  redisServer = await startRedisServer();
  survivor = await startServer(
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
}, 60_000);

afterAll(async () => {
  await stopAllServices();
  await survivor?.close();
  await redisServer?.close();
});

it("pauses a participant whose only connection's instance was SIGKILLed, after lease and grace", async () => {
  const admin = await token({ sub: 'td', role: 'admin' });
  const doomed = await startHttpService({ REDIS_URL: redisServer.url, JWT_SECRET: SECRET });
  const call = async (method: string, path: string, body?: unknown): Promise<SessionView> => {
    const response = await fetch(`${survivor.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.json()) as SessionView;
  };
  await call('POST', '/v1/sessions', {
    session_id: 'killed',
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
    total_time_ms: 600_000,
    on_disconnect: { grace_ms: GRACE_MS, action: 'pause' },
  });
  const started = await call('POST', '/v1/sessions/killed/start');
  const white = await token({ sub: 'white', role: 'participant', session_id: 'killed' });
  const socket = await openSocket(
    `${doomed.http.replace('http', 'ws')}/v1/ws?session_id=killed&token=${white}`,
  );
  await socket.nextState('killed');
  const watcher = await openSocket(
    `${survivor.url.replace('http', 'ws')}/v1/ws?session_id=killed&token=${admin}`,
  );
  await watcher.nextState('killed');
  // A renewal or two, so the lease is the process's own and not only the first one.
  await new Promise((resolve) => setTimeout(resolve, 1500));

  const killedAtMs = Date.now();
  doomed.service.proc.kill('SIGKILL');
  await doomed.service.exit;
  const paused = await watcher.nextState('killed', (s) => s.status === 'paused', 15_000);
  // Its last renewal (at most a renewal interval before the kill) held it for a lease, then the grace.
  expect(Date.now() - killedAtMs).toBeGreaterThanOrEqual(LEASE_MS - 1000 + GRACE_MS);
  expect(paused).toMatchObject({
    version: started.version + 1,
    pause_reason: 'disconnected',
    pause_participant_id: 'white',
  });
  await until(async () => (await call('GET', '/v1/sessions/killed')).status === 'paused', 5000, 'the pause');
  expect((await call('GET', '/v1/sessions/killed')).version).toBe(started.version + 1);
  watcher.ws.terminate();
  socket.ws.terminate();
}, 60_000);
