import { createApp } from '../../src/api/app.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { SUITE_BODY_LIMIT_BYTES, apiSuite } from './api.suite.js';

apiSuite('memory', async () => {
  const store = new MemoryStateStore();
  const engine = new SyncEngine({ store, clock: systemClock });
  const app = createApp({
    engine,
    store,
    logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
    metrics: createMetrics(),
    bodyLimitBytes: SUITE_BODY_LIMIT_BYTES,
  });
  return { app, cleanup: () => store.close() };
});
