// Request shapes of the webhook endpoints and push devices (DESIGN §12.3). Whether the session
// exists, and the endpoint limit, are the WebhookService's checks.
import { z } from 'zod';
import { ALL_EVENTS, WEBHOOK_EVENTS, isWebhookEvent } from '../webhooks/events.js';
import { idSchema } from './requests.js';

export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const MAX_DEVICE_TOKEN_LENGTH = 4096;

function isHttpUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

export const createWebhookBody = z.strictObject({
  url: z
    .string()
    .max(MAX_WEBHOOK_URL_LENGTH, `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`)
    .refine(isHttpUrl, 'must be a well-formed http:// or https:// URL'),
  events: z
    .array(
      z.string().refine((value) => value === ALL_EVENTS || isWebhookEvent(value), {
        message: `must be one of ${WEBHOOK_EVENTS.join(', ')} or ${ALL_EVENTS}`,
      }),
    )
    .min(1, 'must list at least one event type (or "*")')
    .max(WEBHOOK_EVENTS.length + 1, `must list at most ${WEBHOOK_EVENTS.length + 1} event types`),
  session_id: idSchema.optional(),
});
export type CreateWebhookBody = z.output<typeof createWebhookBody>;

export const registerDeviceBody = z.strictObject({
  token: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_DEVICE_TOKEN_LENGTH, `must be at most ${MAX_DEVICE_TOKEN_LENGTH} characters`),
  participant_id: idSchema.optional(),
});
export type RegisterDeviceBody = z.output<typeof registerDeviceBody>;

// What the routes answer (for the OpenAPI document; the WebhookService builds these views).
export const webhookEndpointViewSchema = z.strictObject({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()).describe(`Event types, or ["${ALL_EVENTS}"] for all`),
  session_id: z.string().nullable().describe('Only this session’s messages; null: every session'),
  disabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  created_at: z.number().int().describe('Epoch ms'),
});

export const createdWebhookViewSchema = webhookEndpointViewSchema.extend({
  secret: z.string().describe('whsec_ + base64: the signing secret, shown only in this answer'),
});

export const webhookListSchema = z.strictObject({ webhooks: z.array(webhookEndpointViewSchema) });

export const deliveryViewSchema = z.strictObject({
  message_id: z.string(),
  session_id: z.string(),
  version: z.number().int(),
  type: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  last_response_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  next_attempt_at: z.number().int().nullable().describe('Epoch ms of the next attempt while pending'),
  created_at: z.number().int(),
  updated_at: z.number().int(),
});

export const deliveryPageSchema = z.strictObject({
  deliveries: z.array(deliveryViewSchema),
  next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last'),
});

export const deviceViewSchema = z.strictObject({
  session_id: z.string(),
  token: z.string(),
  participant_id: z.string().nullable(),
});
