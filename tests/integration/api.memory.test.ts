import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { captureLogs } from '../helpers/logCapture.js';
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

describe('an unexpected error', () => {
  it('is a plain 500 INTERNAL_ERROR; the cause goes to the log with the request id, never to the client', async () => {
    class BrokenStore extends MemoryStateStore {
      override async get(): Promise<never> {
        throw new TypeError('secret detail: cannot read properties of undefined');
      }
    }
    const store = new BrokenStore();
    const logs = captureLogs('info');
    const app = createApp({
      engine: new SyncEngine({ store, clock: systemClock }),
      store,
      logger: logs.logger,
      metrics: createMetrics({ defaultMetrics: false }),
      bodyLimitBytes: SUITE_BODY_LIMIT_BYTES,
    });
    try {
      const res = await request(app).get('/v1/sessions/anything').set('x-request-id', 'req-500');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } });
      expect(res.text).not.toContain('secret');
      const entry = logs.lines.find((line) => line.requestId === 'req-500');
      expect(entry?.level).toBe(50);
      expect(JSON.stringify(entry?.err)).toContain('secret detail');
    } finally {
      await store.close();
    }
  });
});
