import { randomUUID } from 'node:crypto';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { RedisClock } from '../../src/state/RedisClock.js';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import { startRedisServer } from '../helpers/redisServer.js';
import { apiFuzzSuite } from './api.fuzz.js';

apiFuzzSuite(
  'redis',
  async () => {
    const redisServer = await startRedisServer();
    const redis = createRedisConnection(redisServer.url, { connectionName: 'fuzz-test' });
    await connectRedis(redis);
    const clock = new RedisClock(redis);
    await clock.start();
    const store = new RedisStateStore(redis, { clock, keyPrefix: `fuzz-${randomUUID().slice(0, 8)}:` });
    return {
      engine: new SyncEngine({ store, clock }),
      store,
      cleanup: async () => {
        clock.close();
        await store.close();
        await redis.quit();
        await redisServer.close();
      },
    };
  },
  { numRuns: 500 },
);
