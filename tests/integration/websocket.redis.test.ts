// Distributed mode on a redis-server of this file's own, plus what only Redis pub/sub can do:
// lose its connection and come back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { openSocket, type TestSocket } from '../helpers/wsClient.js';
import {
  createRunningClock,
  restOk,
  startTestServer,
  watchUrl,
  websocketSuite,
  type TestServer,
} from './websocket.suite.js';

let redisServer: RedisServerHandle;

beforeAll(async () => {
  redisServer = await startRedisServer();
});

afterAll(async () => {
  await redisServer?.close();
});

websocketSuite('redis', async () => ({ env: { REDIS_URL: redisServer.url }, cleanup: async () => {} }));

describe('WebSocket transport over Redis pub/sub', () => {
  let server: TestServer;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    server = await startTestServer({ REDIS_URL: redisServer.url });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.terminate()));
    await server?.close();
  });

  it('after the pub/sub connection is killed, watchers get a fresh snapshot and later changes still arrive', async () => {
    const running = await createRunningClock(server);
    const socket = await openSocket(watchUrl(server, running.session_id));
    sockets.push(socket);
    await socket.nextState(running.session_id);
    const switched = await restOk(server, 'POST', `/v1/sessions/${running.session_id}/switch`);
    await socket.nextState(running.session_id, (s) => s.version === switched.version);

    const admin = createRedisConnection(redisServer.url, { connectionName: 'ws-test-admin' });
    await connectRedis(admin);
    try {
      // Kills subscriber connections only: no data is lost, unlike stopping this test Redis.
      const killed = await admin.client('KILL', 'TYPE', 'pubsub');
      expect(killed).toBeGreaterThanOrEqual(1);
    } finally {
      await admin.quit();
    }

    // The snapshot after the resubscribe: the same version, read again (so sent again).
    const fresh = await socket.nextState(running.session_id, (s) => s.version === switched.version);
    expect(fresh.server_time).toBeGreaterThan(
      socket.messages.find((m) => m.state?.version === switched.version)?.state?.server_time ?? Infinity,
    );
    expect(fresh.event).toBe('switched');

    const paused = await restOk(server, 'POST', `/v1/sessions/${running.session_id}/pause`);
    const seen = await socket.nextState(running.session_id, (s) => s.version === paused.version);
    expect(seen.event).toBe('paused');
    expect(socket.states(running.session_id)).toEqual([2, 3, 3, 4]);
  });
});
