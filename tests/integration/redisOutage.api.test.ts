// Redis goes away under a running app: requests answer 503 naming Redis instead of hanging, and
// the same app recovers by itself when Redis is back.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createApp } from '../../src/api/app.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { RedisClock } from '../../src/state/RedisClock.js';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import type { SessionView } from '../../src/types/session.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

const RECOVERY_BOUND_MS = 15_000;

function expectStoreUnavailable(res: Response): void {
  expect(res.status, JSON.stringify(res.body)).toBe(503);
  const body = res.body as { error: { code: string; message: string; details: unknown } };
  expect(body.error.code).toBe('STORE_UNAVAILABLE');
  expect(body.error.message).toMatch(/redis/i);
  expect(body.error.details).toEqual({ store: 'redis' });
}

describe('the API while Redis is down', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let clock: RedisClock;
  let server: http.Server;

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = createRedisConnection(redisServer.url, { connectionName: 'outage-test', onError: () => {} });
    await connectRedis(redis);
    clock = new RedisClock(redis);
    await clock.start();
    const store = new RedisStateStore(redis, { clock, keyPrefix: `outage-${randomUUID().slice(0, 8)}:` });
    const app = createApp({
      engine: new SyncEngine({ store, clock }),
      store,
      logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
      metrics: createMetrics(),
      bodyLimitBytes: 65_536,
      readinessTimeoutMs: 1000,
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    clock?.close();
    redis?.disconnect();
    await redisServer?.close();
  });

  async function createRunningSession(): Promise<SessionView> {
    const created = await request(server)
      .post('/v1/sessions')
      .send({
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
        total_time_ms: 60_000,
      });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const started = await request(server).post(
      `/v1/sessions/${(created.body as SessionView).session_id}/start`,
    );
    expect(started.status).toBe(200);
    return started.body as SessionView;
  }

  it('answers 503 STORE_UNAVAILABLE naming redis, then recovers without a restart', async () => {
    const session = await createRunningSession();

    await redisServer.stop();

    expectStoreUnavailable(await request(server).get(`/v1/sessions/${session.session_id}`));
    expectStoreUnavailable(
      await request(server).post(`/v1/sessions/${session.session_id}/switch`).send({ expected_version: 2 }),
    );
    expectStoreUnavailable(await request(server).get('/ready'));
    // Liveness and the clock need no store: they keep answering through the outage.
    expect((await request(server).get('/health')).status).toBe(200);
    const time = await request(server).get('/v1/time');
    expect(time.status).toBe(200);
    expect((time.body as { server_time: number }).server_time).toBeGreaterThanOrEqual(session.server_time);

    await redisServer.start();

    const deadline = Date.now() + RECOVERY_BOUND_MS;
    let ready = await request(server).get('/ready');
    while (ready.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await request(server).get('/ready');
    }
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', store: 'redis' });

    // The restarted Redis is empty (no persistence in tests); a new session works end to end.
    const again = await createRunningSession();
    const switched = await request(server)
      .post(`/v1/sessions/${again.session_id}/switch`)
      .send({ expected_version: again.version });
    expect(switched.status, JSON.stringify(switched.body)).toBe(200);
    expect(switched.body as SessionView).toMatchObject({ version: 3, active_participant_id: 'b' });
  }, 40_000);
});
