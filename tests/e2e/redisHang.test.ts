// Redis hangs (SIGSTOP) under the real entry point, distributed mode. A switch sent meanwhile,
// over REST or WebSocket, is answered 503 STORE_UNAVAILABLE within the bound, and when Redis
// resumes and runs the commands queued on its sockets, none of them changes the session.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateKeys } from '../../src/state/keys.js';
import { REDIS_CALL_TIMEOUT_MS } from '../../src/state/redisConnection.js';
import type { SessionView } from '../../src/types/session.js';
import { callJson } from '../helpers/http.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { listeningPort, startService, stopAllServices } from '../helpers/serviceProcess.js';
import { openSocket, type TestSocket } from '../helpers/wsClient.js';

/** Commands sent during hangs, half over REST and half over WebSocket (the finding tried 10). */
const HUNG_COMMANDS = 10;
/** Slack over the documented bound for a busy machine. */
const SLACK_MS = 500;
/** REST: the rate limiter's call (it then lets the request through), then the store's. */
const REST_BOUND_MS = 2 * REDIS_CALL_TIMEOUT_MS + SLACK_MS;
/** WebSocket: the store's call only. */
const WEBSOCKET_BOUND_MS = REDIS_CALL_TIMEOUT_MS + SLACK_MS;

const STORE_UNAVAILABLE = {
  code: 'STORE_UNAVAILABLE',
  message: 'The redis store is unavailable',
  details: { store: 'redis' },
};

describe('commands while Redis hangs', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let base: string;
  let socket: TestSocket;
  let sessionId: string;
  const keys = stateKeys();

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url, { lazyConnect: true });
    await redis.connect();
    const service = startService({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: redisServer.url,
      LOG_LEVEL: 'info',
    });
    const port = listeningPort(await service.waitForLog((line) => line.msg.startsWith('listening')));
    base = `http://127.0.0.1:${port}`;
    const created = await callJson(base, 'POST', '/v1/sessions', {
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
      total_time_ms: 600_000,
    });
    sessionId = created.session_id;
    await callJson(base, 'POST', `/v1/sessions/${sessionId}/start`);
    socket = await openSocket(`ws://127.0.0.1:${port}/v1/ws?session_id=${sessionId}`);
    await socket.nextState(sessionId, (state) => state.version === 2);
  });

  afterAll(async () => {
    await socket?.close();
    await stopAllServices();
    redis?.disconnect();
    await redisServer?.close();
  });

  /** The session as Redis holds it: its stored value (version and state) and its deadline. */
  async function stored(): Promise<{ value: string | null; deadlineAtMs: string | null }> {
    return {
      value: await redis.get(keys.session(sessionId)),
      deadlineAtMs: await redis.zscore(keys.deadlinesOf(sessionId), sessionId),
    };
  }

  async function switchOverRest(expectedVersion: number): Promise<unknown> {
    const response = await fetch(`${base}/v1/sessions/${sessionId}/switch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ expected_version: expectedVersion }),
    });
    expect(response.status).toBe(503);
    return ((await response.json()) as { error: unknown }).error;
  }

  async function switchOverWebSocket(expectedVersion: number): Promise<unknown> {
    const answer = await socket.request(
      { type: 'SWITCH', session_id: sessionId, expected_version: expectedVersion },
      3 * REST_BOUND_MS,
    );
    expect(answer.type).toBe('ERROR');
    return answer.error;
  }

  /**
   * A read through the service answered means Redis has run everything the service sent before
   * it on the same connection, the switch above included.
   */
  async function readThroughService(): Promise<SessionView> {
    for (;;) {
      const response = await fetch(`${base}/v1/sessions/${sessionId}`);
      if (response.status === 200) return (await response.json()) as SessionView;
      expect(response.status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('a switch answered 503 while Redis hangs never lands when Redis resumes', async () => {
    const before = await stored();
    const version = (await readThroughService()).version;
    expect(version).toBe(2);

    for (let i = 0; i < HUNG_COMMANDS; i++) {
      const overRest = i % 2 === 0;
      redisServer.pause();
      const startedMs = performance.now();
      let error: unknown;
      try {
        error = overRest ? await switchOverRest(version) : await switchOverWebSocket(version);
      } finally {
        redisServer.resume();
      }
      const elapsedMs = performance.now() - startedMs;
      expect(error, `command ${i}`).toEqual(STORE_UNAVAILABLE);
      expect(elapsedMs, `command ${i}`).toBeLessThan(overRest ? REST_BOUND_MS : WEBSOCKET_BOUND_MS);

      const after = await readThroughService();
      expect(after, `command ${i}`).toMatchObject({ version, active_participant_id: 'w' });
      expect(await stored(), `command ${i}`).toEqual(before);
    }
    // Watchers never heard of a change either.
    await socket.ping();
    expect(socket.states(sessionId).every((v) => v === version)).toBe(true);
  }, 120_000);
});
