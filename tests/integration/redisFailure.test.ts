import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stateKeys } from '../../src/state/keys.js';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import {
  REDIS_CALL_TIMEOUT_MS,
  connectRedis,
  createRedisConnection,
} from '../../src/state/redisConnection.js';
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

/** A call's wait while Redis hangs: the call timeout, and some slack for a busy machine. */
const HUNG_CALL_BOUND_MS = REDIS_CALL_TIMEOUT_MS + 500;

describe('Redis going away and coming back', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let store: RedisStateStore;
  const keyPrefix = `test-${randomUUID().slice(0, 8)}:`;
  const keys = stateKeys(keyPrefix);

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedisConnection(server.url, { onError: () => {} });
    await connectRedis(redis);
    store = new RedisStateStore(redis, { clock: systemClock, keyPrefix });
  });

  /** Everything the write scripts touch for `sessionId`, as Redis holds it. */
  async function footprint(sessionId: string) {
    return {
      value: await redis.get(keys.session(sessionId)),
      deadlineAtMs: await redis.zscore(keys.deadlinesOf(sessionId), sessionId),
      auditLength: await redis.xlen(keys.auditLogOf(sessionId)),
    };
  }

  it('writes that time out while Redis hangs never land when it resumes', async () => {
    const live = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    const gone = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    for (const state of [live, gone]) {
      await store.save({
        expectedVersion: 0,
        previousStatus: null,
        state,
        deadlineAtMs: 1234,
        ttlMs: null,
        auditRecords: ['v1'],
      });
    }
    // Its index entry outlives it, so a stale-entry drop would have something to remove.
    await redis.del(keys.session(gone.sessionId));
    const before = { live: await footprint(live.sessionId), gone: await footprint(gone.sessionId) };

    server.pause();
    let outcomes: Array<{ err: unknown; elapsedMs: number }>;
    try {
      outcomes = await Promise.all([
        rejectionOf(
          store.save({
            expectedVersion: 1,
            previousStatus: 'pending',
            state: { ...live, version: 2 },
            deadlineAtMs: 5678,
            ttlMs: null,
            auditRecords: ['v2'],
          }),
        ),
        rejectionOf(store.remove({ ...live, version: 2 }, 1, ['v2-cancelled'])),
        rejectionOf(store.dropStaleDeadline(gone.sessionId)),
      ]);
    } finally {
      server.resume();
    }
    for (const { err, elapsedMs } of outcomes) {
      expectStoreUnavailable(err);
      expect(elapsedMs).toBeLessThan(HUNG_CALL_BOUND_MS);
    }

    // One connection answers in order: once a read is answered, Redis has run every write above.
    await vi.waitFor(() => store.get(live.sessionId), { timeout: 10_000, interval: 100 });
    expect({ live: await footprint(live.sessionId), gone: await footprint(gone.sessionId) }).toEqual(before);
  });

  it('a write cut off before its answer is reported only once Redis can no longer run it', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    await store.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: null, ttlMs: null });
    const own = createRedisConnection(server.url, { onError: () => {} });
    await connectRedis(own);
    const cutOff = new RedisStateStore(own, { clock: systemClock, keyPrefix });

    server.pause();
    const outcome = rejectionOf(
      cutOff.save({
        expectedVersion: 1,
        previousStatus: 'pending',
        state: { ...state, version: 2 },
        deadlineAtMs: null,
        ttlMs: null,
      }),
    );
    // The script sits in Redis's socket buffer; closing the connection fails it at once in ioredis.
    await new Promise((resolve) => setTimeout(resolve, 50));
    own.disconnect();
    own.stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Redis still runs what it had received, well before the write's not-after instant.
    server.resume();

    const { err, elapsedMs } = await outcome;
    expectStoreUnavailable(err);
    expect(elapsedMs).toBeGreaterThanOrEqual(REDIS_CALL_TIMEOUT_MS - 5);
    // So the caller's answer came after the write, never before it.
    expect((await store.get(state.sessionId))?.version).toBe(2);
  });

  afterAll(async () => {
    await store?.close();
    redis?.disconnect();
    await server?.close();
  });

  it('while Redis is stopped, every call rejects quickly with STORE_UNAVAILABLE', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    expect(
      await store.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: null, ttlMs: null }),
    ).toEqual({
      ok: true,
    });

    await server.stop();

    const calls: Array<() => Promise<unknown>> = [
      () => store.get(state.sessionId),
      () =>
        store.save({
          expectedVersion: 1,
          previousStatus: 'pending',
          state: { ...state, version: 2 },
          deadlineAtMs: null,
          ttlMs: null,
        }),
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
    expect(
      await store.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: 5, ttlMs: null }),
    ).toEqual({
      ok: true,
    });
    expect(
      await store.save({
        expectedVersion: 1,
        previousStatus: 'pending',
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
