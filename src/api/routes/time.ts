// GET /v1/time: the clock-sync endpoint; it touches nothing but the clock, so it stays cheap.
import { Router } from 'express';
import type { SyncEngine } from '../../engine/SyncEngine.js';

export function timeRouter(deps: { engine: SyncEngine }): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.json({ server_time: deps.engine.serverNowMs() });
  });
  return router;
}
