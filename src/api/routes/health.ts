// Liveness, readiness and Prometheus metrics, for the platform rather than for clients.
import type { FastifyInstance } from 'fastify';
import { checkReadiness } from '../../monitoring/health.js';
import type { Metrics } from '../../monitoring/metrics.js';
import type { StateStore } from '../../types/store.js';

export interface HealthRouteDeps {
  store: StateStore;
  metrics: Metrics;
  readinessTimeoutMs?: number | undefined;
}

export function healthRoutes(app: FastifyInstance, deps: HealthRouteDeps): void {
  // Alive means the process answers; a store outage is readiness' business, not a reason to restart.
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async () => {
    const readiness = await checkReadiness(deps.store, deps.readinessTimeoutMs);
    if (!readiness.ready) throw readiness.error;
    return { status: 'ready', store: readiness.store };
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });
}
