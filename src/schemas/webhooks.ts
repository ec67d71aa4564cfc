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
