// The rate limiter's Redis store: hits far from the limit are admitted without a Redis round trip
// and reach Redis in batches; near the limit every hit is counted in Redis, so instances sharing
// one Redis hold the limit exactly.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BatchedRedisStore } from '../../src/api/middlewares/batchedRedisStore.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

let redisServer: RedisServerHandle;
const connections: Redis[] = [];

beforeAll(async () => {
  redisServer = await startRedisServer();
});

afterAll(async () => {
  for (const redis of connections) redis.disconnect();
  await redisServer.close();
});

async function connection(): Promise<Redis> {
  const redis = createRedisConnection(redisServer.url);
  connections.push(redis);
  await connectRedis(redis);
  return redis;
}

/** An instance's store: a connection of its own, hit with the limiter's window and limit. */
async function instanceStore(
  prefix: string,
  limit: number,
): Promise<{ increment(key: string): Promise<number> }> {
  const store = new BatchedRedisStore(await connection(), prefix);
  return { increment: async (key) => (await store.hit(key, 60_000, limit)).current };
}

async function scriptCalls(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  const calls = (name: string): number =>
    Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}

describe('the rate limiter store in Redis', () => {
  it('hits far from the limit are answered without Redis and reach it together in one batch', async () => {
    const prefix = `sk:rl:${randomUUID().slice(0, 8)}:`;
    const store = await instanceStore(prefix, 1000);
    const redis = await connection();
    const callsBefore = await scriptCalls(redis);

    const counted: number[] = [];
    for (let i = 0; i < 20; i++) counted.push(await store.increment('10.0.0.1'));

    expect(counted).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Nothing has gone to Redis yet: no request waited for it.
    expect(await redis.get(`${prefix}10.0.0.1`)).toBeNull();
    await vi.waitFor(async () => expect(await redis.get(`${prefix}10.0.0.1`)).toBe('20'));
    expect(await scriptCalls(redis)).toBeLessThanOrEqual(callsBefore + 2); // one batch (EVAL after a NOSCRIPT at most)
    expect(await redis.pttl(`${prefix}10.0.0.1`)).toBeGreaterThan(59_000);
  });

  it('two instances near the limit count every hit in Redis: together they admit exactly the limit', async () => {
    const prefix = `sk:rl:${randomUUID().slice(0, 8)}:`;
    const limit = 60;
    const a = await instanceStore(prefix, limit);
    const b = await instanceStore(prefix, limit);

    let admitted = 0;
    for (let i = 0; i < 100; i++) {
      const totalHits = await (i % 2 === 0 ? a : b).increment('10.0.0.2');
      if (totalHits <= limit) admitted++;
    }

    expect(admitted).toBe(limit);
    const redis = await connection();
    await vi.waitFor(async () => expect(await redis.get(`${prefix}10.0.0.2`)).toBe('100'));
  });

  it('every instance learns the total of all of them from its batches', async () => {
    const prefix = `sk:rl:${randomUUID().slice(0, 8)}:`;
    const a = await instanceStore(prefix, 1000);
    const b = await instanceStore(prefix, 1000);
    for (let i = 0; i < 30; i++) await a.increment('10.0.0.3');
    for (let i = 0; i < 30; i++) await b.increment('10.0.0.3');
    const redis = await connection();
    await vi.waitFor(async () => expect(await redis.get(`${prefix}10.0.0.3`)).toBe('60'));

    // A's next batch answers with B's hits too; A alone has made at most 30 + one per try (~20).
    await a.increment('10.0.0.3');
    await vi.waitFor(async () => expect(await a.increment('10.0.0.3')).toBeGreaterThan(60));
  });
});
