// Two instances whose system clocks disagree by 8 s share sessions through one Redis: every
// time one writes and the other reads must still add up, because both use Redis's clock.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { RedisClock } from '../../src/state/RedisClock.js';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('instances with skewed system clocks', () => {
  let server: RedisServerHandle;
  const connections: Redis[] = [];
  const clocks: RedisClock[] = [];
  const keyPrefix = `sk-skew-${process.pid}:`;

  async function instance(skewMs: number): Promise<SyncEngine> {
    const redis = createRedisConnection(server.url, { onError: () => {} });
    connections.push(redis);
    await connectRedis(redis);
    const clock = new RedisClock(redis, {
      localNowMs: () => performance.timeOrigin + performance.now() + skewMs,
    });
    clocks.push(clock);
    await clock.start();
    return new SyncEngine({ store: new RedisStateStore(redis, { clock, keyPrefix }), clock });
  }

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    for (const clock of clocks) clock.close();
    for (const redis of connections) redis.disconnect();
    await server?.close();
  });

  it('a turn started on one instance and ended on the other is charged the real elapsed time', async () => {
    const ahead = await instance(+5_000);
    const behind = await instance(-3_000);
    await ahead.createSession({
      session_id: 'skewed',
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      total_time_ms: 60_000,
    });

    const startedAt = performance.now();
    const started = await ahead.execute('skewed', { type: 'start' });
    await sleep(200);
    const switched = await behind.execute('skewed', { type: 'switch' });
    const realElapsedMs = performance.now() - startedAt;

    const charged = switched.participants.find((p) => p.participant_id === 'a')!.time_used_ms;
    // Exactly the difference of the two instances' timestamps...
    expect(charged).toBe((switched.cycle_started_at ?? 0) - (started.cycle_started_at ?? 0));
    // ...which is the real time that passed (an 8 s skew would show as 8 s here).
    expect(charged).toBeGreaterThanOrEqual(200 - 3);
    expect(charged).toBeLessThanOrEqual(realElapsedMs + 3);

    // And they agree on "now" itself, though their system clocks are 8 s apart.
    expect(Math.abs(ahead.serverNowMs() - behind.serverNowMs())).toBeLessThanOrEqual(3);
  });
});
