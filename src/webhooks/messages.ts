// A webhook message: what one endpoint receives for one session change. Its id (the webhook-id)
// is derived from what it is about, so the same change queued twice is the same message.
import { createHash } from 'node:crypto';
import { toSessionView } from '../engine/view.js';
import type { SessionEvent, SessionView } from '../types/session.js';
import { webhookEventOf, subscribes, type WebhookEventType } from './events.js';

export interface WebhookBody {
  type: WebhookEventType;
  /** When the change took effect (a deadline, for an expiry), ISO 8601. */
  timestamp: string;
  /** The session as clients saw it right after the change. */
  data: SessionView;
}

/** One message for one endpoint: the queue's job. */
export interface WebhookMessage {
  /** The webhook-id, `msg_…`: also the queue's job id and the delivery log's key. */
  id: string;
  endpointId: string;
  sessionId: string;
  version: number;
  type: WebhookEventType;
  /** The exact bytes sent and signed. */
  body: string;
}

/** The part of an endpoint that decides which messages it gets. */
export interface EndpointFilter {
  id: string;
  events: readonly string[];
  sessionId: string | null;
}

/**
 * Stable for (endpoint, session lifetime, version, type). The session's creation time tells two
 * lifetimes of one reused session_id apart: their version 1 is not the same change.
 */
export function messageId(endpointId: string, event: SessionEvent, type: WebhookEventType): string {
  const key = JSON.stringify([endpointId, event.sessionId, event.state.createdAtMs, event.version, type]);
  return `msg_${createHash('sha256').update(key).digest('base64url').slice(0, 32)}`;
}

export function webhookBody(event: SessionEvent, type: WebhookEventType): string {
  const body: WebhookBody = {
    type,
    timestamp: new Date(event.atMs).toISOString(),
    data: toSessionView(event.state, event.atMs),
  };
  return JSON.stringify(body);
}

/** The messages a batch of audit records makes for these endpoints, in record order. */
export function messagesFor(
  events: readonly SessionEvent[],
  endpoints: readonly EndpointFilter[],
): WebhookMessage[] {
  const messages: WebhookMessage[] = [];
  for (const event of events) {
    const type = webhookEventOf(event.type);
    if (type === null) continue;
    let body: string | null = null;
    for (const endpoint of endpoints) {
      if (!subscribes(endpoint.events, type)) continue;
      if (endpoint.sessionId !== null && endpoint.sessionId !== event.sessionId) continue;
      body ??= webhookBody(event, type);
      messages.push({
        id: messageId(endpoint.id, event, type),
        endpointId: endpoint.id,
        sessionId: event.sessionId,
        version: event.version,
        type,
        body,
      });
    }
  }
  return messages;
}
