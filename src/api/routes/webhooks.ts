// /v1/webhooks: an admin's webhook endpoints and their delivery logs (DESIGN §12.3). The
// WebhookService validates and stores; without it (no audit trail) every route answers 503.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { checkWebhookAdmin } from '../../auth/permissions.js';
import { parseInput } from '../../schemas/requests.js';
import { storeUnavailable } from '../../types/errors.js';
import { MAX_DELIVERIES_LIMIT, type WebhookService } from '../../webhooks/WebhookService.js';
import { principalOf } from '../middlewares/authenticate.js';

export const deliveriesQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,6}$/, 'must be an integer')
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_DELIVERIES_LIMIT, `must be between 1 and ${MAX_DELIVERIES_LIMIT}`)
    .optional(),
  cursor: z.string().optional(),
});

export interface WebhookRouteDeps {
  /** Null or absent: no audit trail, so no webhooks (503 naming 'audit'). */
  webhooks?: WebhookService | null;
}

/** The service, once the caller is known to be an unbound admin. */
export function webhookService(deps: WebhookRouteDeps): WebhookService {
  if (!deps.webhooks) throw storeUnavailable('audit');
  return deps.webhooks;
}

export function webhooksRoutes(app: FastifyInstance, deps: WebhookRouteDeps): void {
  // Admin only, checked before anything is read or parsed.
  app.addHook('preHandler', async (req) => checkWebhookAdmin(principalOf(req)));

  app.post('/', async (req, reply) => {
    const created = await webhookService(deps).create(req.body);
    return reply.code(201).header('location', `/v1/webhooks/${created.id}`).send(created);
  });

  app.get('/', async (_req, reply) => {
    const webhooks = await webhookService(deps).list();
    return reply.header('cache-control', 'no-store').send({ webhooks });
  });

  app.get<{ Params: { id: string } }>('/:id', async (req, reply) => {
    const endpoint = await webhookService(deps).get(req.params.id);
    return reply.header('cache-control', 'no-store').send(endpoint);
  });

  app.delete<{ Params: { id: string } }>('/:id', async (req, reply) => {
    await webhookService(deps).delete(req.params.id);
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>('/:id/deliveries', async (req, reply) => {
    const query = parseInput(deliveriesQuerySchema, req.query, ['query']);
    const page = await webhookService(deps).deliveries(req.params.id, query);
    return reply.header('cache-control', 'no-store').send(page);
  });
}
