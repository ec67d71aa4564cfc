import { randomUUID } from 'node:crypto';
import { createApp } from '../../src/api/app.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { RedisClock } from '../../src/state/RedisClock.js';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import { startRedisServer } from '../helpers/redisServer.js';
import { SUITE_BODY_LIMIT_BYTES, apiSuite } from './api.suite.js';

apiSuite('redis', async () => {
  const redisServer = await startRedisServer();
  const redis = createRedisConnection(redisServer.url, { connectionName: 'api-test' });
  await connectRedis(redis);
  const clock = new RedisClock(redis);
  await clock.start();
  const store = new RedisStateStore(redis, { clock, keyPrefix: `test-${randomUUID().slice(0, 8)}:` });
  const engine = new SyncEngine({ store, clock });
  const app = createApp({
    engine,
    store,
    logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
    metrics: createMetrics(),
    bodyLimitBytes: SUITE_BODY_LIMIT_BYTES,
  });
  return {
    app,
    cleanup: async () => {
      clock.close();
      await store.close();
      await redis.quit();
      await redisServer.close();
    },
  };
});
