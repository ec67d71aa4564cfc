// The webhook event types (DESIGN §12.3) and the audit event each one is made from.
export const WEBHOOK_EVENTS = [
  'session.created',
  'session.started',
  'session.switched',
  'session.paused',
  'session.resumed',
  'session.adjusted',
  'session.expired',
  'session.completed',
  'session.cancelled',
  'session.reset',
  'participant.expired',
  'phase.changed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** An endpoint subscribed to this gets every event type. */
export const ALL_EVENTS = '*';

/**
 * Audit event type → webhook event type. Matched by name, so `phase_changed` becomes
 * `phase.changed` as soon as the engine records it; audit events with no webhook counterpart
 * (cycle_advanced) send nothing.
 */
const BY_AUDIT_EVENT: ReadonlyMap<string, WebhookEventType> = new Map([
  ['created', 'session.created'],
  ['started', 'session.started'],
  ['switched', 'session.switched'],
  ['paused', 'session.paused'],
  ['resumed', 'session.resumed'],
  ['adjusted', 'session.adjusted'],
  ['expired', 'session.expired'],
  ['completed', 'session.completed'],
  ['cancelled', 'session.cancelled'],
  ['reset', 'session.reset'],
  ['participant_expired', 'participant.expired'],
  ['phase_changed', 'phase.changed'],
]);

export function webhookEventOf(auditEventType: string): WebhookEventType | null {
  return BY_AUDIT_EVENT.get(auditEventType) ?? null;
}

export function isWebhookEvent(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENTS as readonly string[]).includes(value);
}

/** Whether an endpoint with `events` wants `type`. */
export function subscribes(events: readonly string[], type: WebhookEventType): boolean {
  return events.includes(ALL_EVENTS) || events.includes(type);
}
