// Liveness, readiness and Prometheus metrics, for the platform rather than for clients.
import { Router } from 'express';
import { checkReadiness } from '../../monitoring/health.js';
import type { Metrics } from '../../monitoring/metrics.js';
import type { StateStore } from '../../types/store.js';

export interface HealthRouteDeps {
  store: StateStore;
  metrics: Metrics;
  readinessTimeoutMs?: number;
}

export function healthRouter(deps: HealthRouteDeps): Router {
  const router = Router();

  // Alive means the process answers; a store outage is readiness' business, not a reason to restart.
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/ready', async (_req, res) => {
    const readiness = await checkReadiness(deps.store, deps.readinessTimeoutMs);
    if (!readiness.ready) throw readiness.error;
    res.json({ status: 'ready', store: readiness.store });
  });

  router.get('/metrics', async (_req, res) => {
    const body = await deps.metrics.registry.metrics();
    res.setHeader('content-type', deps.metrics.registry.contentType);
    res.send(body);
  });

  return router;
}
