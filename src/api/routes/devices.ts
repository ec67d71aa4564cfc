// /v1/sessions/:id/devices: the FCM registration tokens that get a session's push notifications.
// Who may register which device is decided in auth/permissions.ts (checkDeviceAction).
import type { FastifyInstance } from 'fastify';
import { checkDeviceAction } from '../../auth/permissions.js';
import { idSchema, parseInput } from '../../schemas/requests.js';
import { registerDeviceBody } from '../../schemas/webhooks.js';
import { principalOf } from '../middlewares/authenticate.js';
import { webhookService, type WebhookRouteDeps } from './webhooks.js';

export function devicesRoutes(app: FastifyInstance, deps: WebhookRouteDeps): void {
  app.post<{ Params: { id: string } }>('/:id/devices', async (req, reply) => {
    const sessionId = parseInput(idSchema, req.params.id, ['session_id']);
    const input = parseInput(registerDeviceBody, req.body);
    checkDeviceAction(principalOf(req), sessionId, 'register', input.participant_id ?? null);
    const device = await webhookService(deps).registerDevice(sessionId, input);
    return reply.code(201).send(device);
  });

  app.delete<{ Params: { id: string; token: string } }>('/:id/devices/:token', async (req, reply) => {
    const sessionId = parseInput(idSchema, req.params.id, ['session_id']);
    checkDeviceAction(principalOf(req), sessionId, 'unregister');
    await webhookService(deps).unregisterDevice(sessionId, req.params.token);
    return reply.code(204).send();
  });
}
