import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { stateKeys } from '../../src/state/keys.js';
import { encodeState } from '../../src/state/stateCodec.js';
import type { SessionStatus } from '../../src/types/session.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import { stateStoreContract, type PublishedMessage } from '../contract/stateStore.contract.js';
import { sessionStateFixture } from '../helpers/fixtures.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

let server: RedisServerHandle;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.close();
});

async function connect(): Promise<Redis> {
  const redis = createRedisConnection(server.url, { connectionName: 'stateStore-test' });
  await connectRedis(redis);
  return redis;
}

stateStoreContract('redis', async () => {
  const keyPrefix = `test-${randomUUID().slice(0, 8)}:`;
  const keys = stateKeys(keyPrefix);
  const redis = await connect();
  const subscriber = await connect();
  const published: PublishedMessage[] = [];
  // Sharded channels have no pattern subscription: MONITOR shows every SPUBLISH the scripts run,
  // on the channel names keys.ts builds (`prefix{b7}:s:<sessionId>:updates`).
  const monitor = await subscriber.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    const [command, channel, message] = args;
    if (command?.toLowerCase() !== 'spublish' || channel === undefined || message === undefined) return;
    if (!channel.startsWith(keyPrefix)) return;
    const sessionId = channel.slice(channel.indexOf('}:s:') + 4, -':updates'.length);
    if (keys.updatesChannel(sessionId) === channel) published.push({ sessionId, message });
  });
  const store = new RedisStateStore(redis, { clock: systemClock, keyPrefix });
  return {
    store,
    published: () => published,
    auditLog: async () => {
      // Every bucket's stream, merged in the order Redis appended them (stream ids are ms-seq).
      const perBucket = await Promise.all(
        keys.buckets.map((bucket) => redis.xrange(keys.auditLog(bucket), '-', '+')),
      );
      const order = (id: string): [number, number] => id.split('-').map(Number) as [number, number];
      const entries = perBucket.flat().sort(([a], [b]) => {
        const [aMs, aSeq] = order(a);
        const [bMs, bSeq] = order(b);
        return aMs - bMs || aSeq - bSeq;
      });
      return entries.map(([, fields]) => fields[1] ?? '');
    },
    async cleanup() {
      await store.close();
      await store.close();
      monitor.disconnect();
      await subscriber.quit();
      await redis.quit();
    },
  };
});

describe('RedisStateStore specifics', () => {
  let redis: Redis;
  let store: RedisStateStore;
  const keyPrefix = `test-${randomUUID().slice(0, 8)}:`;
  const keys = stateKeys(keyPrefix);

  beforeEach(async () => {
    redis = await connect();
    store = new RedisStateStore(redis, { clock: systemClock, keyPrefix });
  });

  afterEach(async () => {
    await store.close();
    await redis.quit();
  });

  it('keeps a session in one hash-tagged string, its version ahead of its state', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    await store.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: 1234, ttlMs: null });
    expect(keys.session(state.sessionId)).toBe(
      `${keyPrefix}{b${keys.bucketOf(state.sessionId)}}:s:${state.sessionId}`,
    );
    expect(await redis.type(keys.session(state.sessionId))).toBe('string');
    expect(await redis.get(keys.session(state.sessionId))).toBe(`1|${encodeState(state)}`);
    expect(await redis.zscore(keys.deadlinesOf(state.sessionId), state.sessionId)).toBe('1234');
  });

  it('indexes the session by status in its bucket, and moves it only when the status changes', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    const { sessionId } = state;
    const members = async (status: SessionStatus): Promise<string[]> =>
      redis.zrange(keys.sessionIndexOf(sessionId, status), 0, -1);
    expect(keys.sessionIndexOf(sessionId, 'running')).toBe(
      `${keyPrefix}{b${keys.bucketOf(sessionId)}}:ids:running`,
    );
    await store.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: null, ttlMs: null });
    expect(await redis.zscore(keys.sessionIndexOf(sessionId, 'pending'), sessionId)).toBe('0');

    const running = { ...state, version: 2, status: 'running' as const };
    await store.save({
      expectedVersion: 1,
      previousStatus: 'pending',
      state: running,
      deadlineAtMs: null,
      ttlMs: 50,
    });
    expect(await members('pending')).toEqual([]);
    expect(await members('running')).toEqual([sessionId]);

    // Its TTL runs out: the id stays behind until a list read finds the session gone.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await members('running')).toEqual([sessionId]);
    expect(await store.list({ status: 'running', limit: 10 })).toEqual([]);
    expect(await members('running')).toEqual([]);
  });

  it('lists ids crowded into one bucket in order, over as many rounds of bucket reads as it takes', async () => {
    // Each bucket is read a few ids at a time: 40 ids of bucket 0 (and 10 elsewhere) need several rounds.
    // A prefix of its own: this store lists these sessions only.
    const own = new RedisStateStore(redis, {
      clock: systemClock,
      keyPrefix: `test-${randomUUID().slice(0, 8)}:`,
    });
    const crowded: string[] = [];
    const elsewhere: string[] = [];
    for (let i = 0; crowded.length < 40 || elsewhere.length < 10; i++) {
      const id = `c-${i}`;
      if (keys.bucketOf(id) === 0) {
        if (crowded.length < 40) crowded.push(id);
      } else if (elsewhere.length < 10) elsewhere.push(id);
    }
    for (const sessionId of [...crowded, ...elsewhere]) {
      const state = sessionStateFixture({ sessionId });
      await own.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: null, ttlMs: null });
    }
    const sorted = [...crowded, ...elsewhere].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const ids = async (afterId: string | undefined, limit: number): Promise<string[]> =>
      (await own.list({ afterId, limit })).map((state) => state.sessionId);
    expect(await ids(undefined, 30)).toEqual(sorted.slice(0, 30));
    expect(await ids(sorted[29], 30)).toEqual(sorted.slice(30));
    expect(await ids(undefined, 100)).toEqual(sorted);
  });

  it('ttlMs null persists the key (PTTL -1); a TTL sets it and a later null clears it', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    const key = keys.session(state.sessionId);
    await store.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: null, ttlMs: null });
    expect(await redis.pttl(key)).toBe(-1);

    const v2 = { ...state, version: 2 };
    await store.save({
      expectedVersion: 1,
      previousStatus: 'pending',
      state: v2,
      deadlineAtMs: null,
      ttlMs: 60_000,
    });
    const pttl = await redis.pttl(key);
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);

    await store.save({
      expectedVersion: 2,
      previousStatus: 'pending',
      state: { ...v2, version: 3 },
      deadlineAtMs: null,
      ttlMs: null,
    });
    expect(await redis.pttl(key)).toBe(-1);
  });

  it('a script flushed from Redis is sent again (NOSCRIPT falls back to EVAL)', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    await store.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: null, ttlMs: null });
    await redis.script('FLUSH');
    expect(
      await store.save({
        expectedVersion: 1,
        previousStatus: 'pending',
        state: { ...state, version: 2 },
        deadlineAtMs: null,
        ttlMs: null,
      }),
    ).toEqual({ ok: true });
    await redis.script('FLUSH');
    expect(await store.remove({ ...state, version: 3 }, 2)).toEqual({ ok: true });
    await redis.script('FLUSH');
    await expect(store.dropStaleDeadline(state.sessionId)).resolves.toBeUndefined();
  });

  it('a hash deleted behind the store leaves its deadline entry, which dropStaleDeadline removes', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    await store.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: 1234, ttlMs: null });
    await store.dropStaleDeadline(state.sessionId);
    expect(await redis.zscore(keys.deadlinesOf(state.sessionId), state.sessionId)).toBe('1234');

    await redis.del(keys.session(state.sessionId));
    expect(await redis.zscore(keys.deadlinesOf(state.sessionId), state.sessionId)).toBe('1234');
    await store.dropStaleDeadline(state.sessionId);
    expect(await redis.zscore(keys.deadlinesOf(state.sessionId), state.sessionId)).toBeNull();
  });

  it('a write that reaches Redis after its not-after instant changes nothing and is STORE_UNAVAILABLE', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}` });
    await store.save({
      expectedVersion: 0,
      previousStatus: null,
      state,
      deadlineAtMs: 1234,
      ttlMs: null,
      auditRecords: ['v1'],
    });
    const footprint = async () => ({
      value: await redis.get(keys.session(state.sessionId)),
      deadlineAtMs: await redis.zscore(keys.deadlinesOf(state.sessionId), state.sessionId),
      auditLength: await redis.xlen(keys.auditLogOf(state.sessionId)),
    });
    const before = await footprint();
    // A clock a minute behind Redis dates every not-after instant in Redis's past.
    const late = new RedisStateStore(redis, { clock: { nowMs: () => Date.now() - 60_000 }, keyPrefix });
    const v2 = { ...state, version: 2 };
    const writes = [
      () =>
        late.save({
          expectedVersion: 1,
          previousStatus: 'pending',
          state: v2,
          deadlineAtMs: null,
          ttlMs: null,
          auditRecords: ['v2'],
        }),
      () => late.remove(v2, 1, ['v2-cancelled']),
      () => late.dropStaleDeadline(state.sessionId),
      () => late.restore({ state: v2, deadlineAtMs: null, ttlMs: null }),
    ];
    for (const write of writes) {
      await expect(write()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', details: { store: 'redis' } });
    }
    expect(await footprint()).toEqual(before);
  });

  it('a removed lifetime is never restored (the trail may not know yet); a new lifetime of the id is', async () => {
    const state = sessionStateFixture({ sessionId: `s-${randomUUID()}`, createdAtMs: 1_000 });
    await store.save({ expectedVersion: 0, previousStatus: null, state, deadlineAtMs: null, ttlMs: null });
    await store.remove({ ...state, status: 'cancelled' }, 1);
    expect(await store.restore({ state, deadlineAtMs: null, ttlMs: null })).toEqual({
      ok: false,
      reason: 'not_found',
    });
    expect(await store.get(state.sessionId)).toBeNull();
    const reborn = { ...state, createdAtMs: 2_000 };
    expect(await store.restore({ state: reborn, deadlineAtMs: null, ttlMs: null })).toEqual({ ok: true });
  });

  it('ping answers while Redis is up', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
