// GET /v1/time: the clock-sync endpoint; it touches nothing but the clock, so it stays cheap.
import type { FastifyInstance } from 'fastify';
import type { SyncEngine } from '../../engine/SyncEngine.js';

export function timeRoutes(app: FastifyInstance, deps: { engine: SyncEngine }): void {
  app.get('/v1/time', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return { server_time: deps.engine.serverNowMs() };
  });
}
