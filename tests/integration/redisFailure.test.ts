import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import { SyncKairosError } from '../../src/types/errors.js';
import { sessionStateFixture } from '../helpers/fixtures.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

/** Resolves to the rejection of `promise` and how long it took, or fails if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<{ err: unknown; elapsedMs: number }> {
  const startedMs = performance.now();
  try {
    await promise;
  } catch (err) {
    return { err, elapsedMs: performance.now() - startedMs };
  }
  throw new Error('expected a rejection');
}

function expectStoreUnavailable(err: unknown): void {
  expect(err).toBeInstanceOf(SyncKairosError);
  const error = err as SyncKairosError;
  expect(error.code).toBe('STORE_UNAVAILABLE');
  expect(error.status).toBe(503);
  expect(error.details).toEqual({ store: 'redis' });
}

describe('Redis going away and coming back', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let store: RedisStateStore;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedisConnection(server.url, { onError: () => {} });
    await connectRedis(redis);
    store = new RedisStateStore(redis, { keyPrefix: `test-${randomUUID().slice(0, 8)}:` });
  });

  afterAll(async () => {
    await store?.close();
    redis?.disconnect();
    await server?.close();
  });

  it('while Redis is stopped, every call rejects quickly with STORE_UNAVAILABLE', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    expect(await store.save({ expectedVersion: 0, state, deadlineAtMs: null, ttlMs: null })).toEqual({
      ok: true,
    });

    await server.stop();

    const calls: Array<() => Promise<unknown>> = [
      () => store.get(state.sessionId),
      () =>
        store.save({ expectedVersion: 1, state: { ...state, version: 2 }, deadlineAtMs: null, ttlMs: null }),
      () => store.remove(state, 1),
      () => store.deadlinesUntil(Date.now(), 10),
      () => store.dropStaleDeadline(state.sessionId),
      () => store.ping(),
    ];
    for (const call of calls) {
      const { err, elapsedMs } = await rejectionOf(call());
      expectStoreUnavailable(err);
      expect(elapsedMs).toBeLessThan(3000);
    }
  });

  it('after Redis is back, the same connection recovers by itself and the scripts run again', async () => {
    await server.start();

    // The restarted Redis is empty (no persistence), so a recovered get answers null.
    await vi.waitFor(async () => expect(await store.get('anything')).toBeNull(), {
      timeout: 10_000,
      interval: 100,
    });

    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    expect(await store.save({ expectedVersion: 0, state, deadlineAtMs: 5, ttlMs: null })).toEqual({
      ok: true,
    });
    expect(
      await store.save({
        expectedVersion: 1,
        state: { ...state, version: 2 },
        deadlineAtMs: null,
        ttlMs: null,
      }),
    ).toEqual({ ok: true });
    expect((await store.get(state.sessionId))?.version).toBe(2);
  });

  it('connectRedis gives up with STORE_UNAVAILABLE naming host:port, never the password', async () => {
    await server.stop();
    const unreachable = createRedisConnection(`redis://:s3cret@127.0.0.1:${server.port}`, {
      onError: () => {},
    });
    try {
      const { err } = await rejectionOf(connectRedis(unreachable, 500));
      expectStoreUnavailable(err);
      const message = (err as Error).message;
      expect(message).toContain(`127.0.0.1:${server.port}`);
      expect(message).not.toContain('s3cret');
    } finally {
      unreachable.disconnect();
      await server.start();
    }
  });
});
