import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClock } from '../../src/state/RedisClock.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

/** A local clock off by `skewMs`, as an instance with a badly set system clock would have. */
function skewedLocalClock(skewMs: number): () => number {
  return () => performance.timeOrigin + performance.now() + skewMs;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisClock: one clock for the deployment', () => {
  let server: RedisServerHandle;
  const connections: Redis[] = [];
  const clocks: RedisClock[] = [];

  async function clockOnOwnConnection(skewMs: number, onError?: (err: unknown) => void): Promise<RedisClock> {
    const redis = createRedisConnection(server.url, { onError: () => {} });
    connections.push(redis);
    await connectRedis(redis);
    const clock = new RedisClock(redis, {
      localNowMs: skewedLocalClock(skewMs),
      resyncIntervalMs: 100,
      ...(onError ? { onError } : {}),
    });
    clocks.push(clock);
    return clock;
  }

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    for (const clock of clocks) {
      clock.close();
      clock.close();
    }
    for (const redis of connections) redis.disconnect();
    await server?.close();
  });

  it('two instances with skewed system clocks (+5 s, -3 s) agree with each other and an unskewed one', async () => {
    const ahead = await clockOnOwnConnection(5000);
    const behind = await clockOnOwnConnection(-3000);
    const exact = await clockOnOwnConnection(0);
    await Promise.all([ahead.start(), behind.start(), exact.start()]);

    const readings = [ahead.nowMs(), behind.nowMs(), exact.nowMs()];
    for (const reading of readings) expect(Number.isInteger(reading)).toBe(true);
    expect(Math.abs(readings[0]! - readings[1]!)).toBeLessThanOrEqual(2);
    expect(Math.abs(readings[0]! - readings[2]!)).toBeLessThanOrEqual(2);
    expect(Math.abs(readings[1]! - readings[2]!)).toBeLessThanOrEqual(2);

    // The skew went into the offsets: each differs from the unskewed one by its skew.
    expect(Math.abs(ahead.offsetMs - exact.offsetMs + 5000)).toBeLessThanOrEqual(2);
    expect(Math.abs(behind.offsetMs - exact.offsetMs - 3000)).toBeLessThanOrEqual(2);
    expect(ahead.roundTripMs).toBeGreaterThanOrEqual(0);
  });

  it('while Redis is stopped the clock keeps its offset, keeps advancing and never throws', async () => {
    const errors: unknown[] = [];
    const clock = await clockOnOwnConnection(5000, (err) => errors.push(err));
    await clock.start();
    const offsetMs = clock.offsetMs;

    await server.stop();
    try {
      const firstMs = clock.nowMs();
      let previousMs = firstMs;
      // Several resync intervals (100 ms) pass while Redis is away.
      for (let i = 0; i < 6; i++) {
        await sleep(50);
        const nowMs = clock.nowMs();
        expect(nowMs).toBeGreaterThanOrEqual(previousMs);
        previousMs = nowMs;
      }
      // About 300 ms slept; the clock went on with it rather than freezing.
      expect(previousMs - firstMs).toBeGreaterThanOrEqual(250);
      expect(clock.offsetMs).toBe(offsetMs);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await server.start();
    }
  });

  it('start() rejects with STORE_UNAVAILABLE when Redis does not answer', async () => {
    const clock = await clockOnOwnConnection(0);
    await server.stop();
    try {
      await expect(clock.start()).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        details: { store: 'redis' },
      });
    } finally {
      await server.start();
    }
  });
});
