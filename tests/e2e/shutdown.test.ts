// SIGTERM under load: the real entry point, distributed mode, a steady stream of switches over
// HTTP keep-alive and WebSocket watchers. The process exits 0 within its bound, every switch
// that was answered 2xx is in the state, and the watchers move to another instance.
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../src/types/session.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import {
  listeningPort,
  startService,
  stopAllServices,
  type ServiceProcess,
} from '../helpers/serviceProcess.js';
import { openSocket, type TestSocket } from '../helpers/wsClient.js';

/** src/index.ts SHUTDOWN_TIMEOUT_MS: the process exits within this of SIGTERM whatever hangs. */
const SHUTDOWN_BOUND_MS = 10_000;
/**
 * src/index.ts DRAIN_TIMEOUT_MS: open connections are cut after this. Exiting sooner shows the
 * drain ended by itself (keep-alive clients were told to close), so no request was cut mid-way.
 */
const DRAIN_TIMEOUT_MS = 5_000;
const SESSIONS = 8;
const WATCHERS_PER_SESSION = 2;

interface Instance {
  service: ServiceProcess;
  http: string;
  ws: string;
}

async function startInstance(redisUrl: string): Promise<Instance> {
  const service = startService({
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'info',
    // The stream is one address far over the default rate; limits are not what this tests.
    RATE_LIMIT_MAX: '0',
  });
  const port = listeningPort(await service.waitForLog((line) => line.msg.startsWith('listening')));
  return { service, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/v1/ws` };
}

interface Answer {
  status: number;
  body: string;
}

function post(agent: http.Agent, url: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

async function getState(base: string, sessionId: string): Promise<SessionView> {
  const response = await fetch(`${base}/v1/sessions/${sessionId}`);
  expect(response.status).toBe(200);
  return (await response.json()) as SessionView;
}

interface StreamResult {
  ok: number;
  /** Answers that were neither 2xx nor a dropped connection (there should be none). */
  refused: Answer[];
  /** How the stream ended: the error that stopped it. */
  endedBy: string;
}

/** Switches `sessionId` back to back over one keep-alive connection until the server is gone. */
async function switchStream(base: string, sessionId: string, stopAfterMs: number): Promise<StreamResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const result: StreamResult = { ok: 0, refused: [], endedBy: 'time' };
  const stopAt = Date.now() + stopAfterMs;
  try {
    while (Date.now() < stopAt) {
      let answer: Answer;
      try {
        answer = await post(agent, `${base}/v1/sessions/${sessionId}/switch`);
      } catch (err) {
        result.endedBy = (err as NodeJS.ErrnoException).code ?? String(err);
        break;
      }
      if (answer.status >= 200 && answer.status < 300) result.ok++;
      else result.refused.push(answer);
    }
  } finally {
    agent.destroy();
  }
  return result;
}

describe('SIGTERM under load', () => {
  let redis: RedisServerHandle;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) await socket.terminate();
    await stopAllServices();
  });

  afterAll(async () => {
    await redis?.close();
  });

  it('exits 0 within its bound; every 2xx switch is in the state; watchers get 1001 and resume on another instance', async () => {
    const a = await startInstance(redis.url);
    const sessionIds = Array.from({ length: SESSIONS }, (_, i) => `shutdown-${i}`);
    const initialVersions = new Map<string, number>();
    const setupAgent = new http.Agent({ keepAlive: true });
    for (const sessionId of sessionIds) {
      const created = await post(setupAgent, `${a.http}/v1/sessions`, {
        session_id: sessionId,
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
        total_time_ms: 3_600_000,
      });
      expect(created.status).toBe(201);
      const started = await post(setupAgent, `${a.http}/v1/sessions/${sessionId}/start`);
      expect(started.status).toBe(200);
      initialVersions.set(sessionId, (JSON.parse(started.body) as SessionView).version);
    }
    setupAgent.destroy();

    const watchers: Array<{ sessionId: string; socket: TestSocket }> = [];
    for (const sessionId of sessionIds) {
      for (let i = 0; i < WATCHERS_PER_SESSION; i++) {
        const socket = await openSocket(`${a.ws}?session_id=${sessionId}`);
        sockets.push(socket);
        await socket.nextState(sessionId);
        watchers.push({ sessionId, socket });
      }
    }

    const streams = sessionIds.map((sessionId) => switchStream(a.http, sessionId, 30_000));
    // Mid-stream: switches are committing and being fanned out when the signal comes.
    const watched = watchers[0] as { sessionId: string; socket: TestSocket };
    await watched.socket.nextState(watched.sessionId, (state) => state.version >= 40, 10_000);
    const signalledAtMs = Date.now();
    a.service.proc.kill('SIGTERM');
    const exit = await a.service.exit;
    const shutdownMs = Date.now() - signalledAtMs;

    expect(exit, a.service.stderr()).toEqual({ code: 0, signal: null });
    expect(shutdownMs).toBeLessThan(SHUTDOWN_BOUND_MS);
    expect(shutdownMs).toBeLessThan(DRAIN_TIMEOUT_MS);
    expect(a.service.logs.some((line) => line.msg === 'closed')).toBe(true);
    expect(a.service.logs.filter((line) => line.level >= 50)).toEqual([]);

    const results = await Promise.all(streams);
    for (const result of results) {
      expect(result.endedBy).not.toBe('time');
      // Nothing was refused: requests were served until their connection closed.
      expect(result.refused).toEqual([]);
      expect(result.ok).toBeGreaterThan(0);
    }

    for (const { socket } of watchers) expect((await socket.closed).code).toBe(1001);

    const b = await startInstance(redis.url);
    for (const [index, sessionId] of sessionIds.entries()) {
      const state = await getState(b.http, sessionId);
      const expected = (initialVersions.get(sessionId) ?? 0) + (results[index]?.ok ?? 0);
      expect(state.version, `${sessionId}: ${results[index]?.ok} switches answered 2xx`).toBe(expected);
    }

    // A watcher that reconnects to B is complete again with its first STATE.
    for (const { sessionId, socket } of watchers) {
      const again = await openSocket(`${b.ws}?session_id=${sessionId}`);
      sockets.push(again);
      const snapshot = await again.nextState(sessionId);
      const lastSeen = Math.max(...socket.states(sessionId));
      expect(snapshot.version).toBe((await getState(b.http, sessionId)).version);
      expect(snapshot.version).toBeGreaterThanOrEqual(lastSeen);
    }
    console.log(
      `shutdown under load: exited in ${shutdownMs} ms after ${results.reduce((n, r) => n + r.ok, 0)} switches; streams ended by ${results.map((r) => r.endedBy).join(', ')}`,
    );
  }, 60_000);
});
