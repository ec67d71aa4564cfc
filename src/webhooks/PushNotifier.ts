// Push notifications through Firebase Cloud Messaging (DESIGN §12.3): "your turn" to the devices
// of the participant whose turn it is, phase changes and the session's expiry to every device of
// the session, a participant's expiry to that participant's devices. Best effort, off the command
// path, never retried; tokens FCM reports as unregistered are dropped.
import type { BatchResponse, Message } from 'firebase-admin/messaging';
import type { Logger } from '../monitoring/logger.js';
import type { SessionEvent } from '../types/session.js';
import { webhookEventOf, type WebhookEventType } from './events.js';
import type { DeviceRow, WebhookStore } from './WebhookStore.js';

/** The part of firebase-admin's Messaging we use: tests hand in their own. */
export interface PushMessaging {
  sendEach(messages: Message[]): Promise<BatchResponse>;
}

/** FCM's limit per sendEach call. */
const MAX_MESSAGES_PER_CALL = 500;
/** Errors that mean the token will never work again. */
const DEAD_TOKEN_CODES = new Set([
  'messaging/registration-token-not-registered',
  'messaging/invalid-registration-token',
]);

interface Notice {
  title: string;
  body: string;
  /** null: every device of the session. */
  participantId: string | null;
}

/** What the change tells whom, or null when it is not worth a push. */
function noticeFor(event: SessionEvent, type: WebhookEventType): Notice | null {
  const { sessionId, state } = event;
  switch (type) {
    case 'session.started':
    case 'session.switched':
      if (state.activeParticipantId === null) return null;
      return {
        title: 'Your turn',
        body: `It is your turn in ${sessionId}`,
        participantId: state.activeParticipantId,
      };
    case 'phase.changed':
      return { title: 'Next phase', body: `${sessionId} moved to its next phase`, participantId: null };
    case 'session.expired':
      return { title: 'Time is up', body: `${sessionId} ran out of time`, participantId: null };
    case 'participant.expired':
      if (event.participantId === null) return null;
      return {
        title: 'Your time ran out',
        body: `Your time ran out in ${sessionId}`,
        participantId: event.participantId,
      };
    default:
      return null;
  }
}

/** The FCM messages for a batch of audit records, given the devices of their sessions. */
export function pushMessagesFor(events: readonly SessionEvent[], devices: readonly DeviceRow[]): Message[] {
  const messages: Message[] = [];
  for (const event of events) {
    const type = webhookEventOf(event.type);
    const notice = type === null ? null : noticeFor(event, type);
    if (type === null || notice === null) continue;
    for (const device of devices) {
      if (device.sessionId !== event.sessionId) continue;
      if (notice.participantId !== null && device.participantId !== notice.participantId) continue;
      messages.push({
        token: device.token,
        notification: { title: notice.title, body: notice.body },
        // FCM data values are strings.
        data: { type, session_id: event.sessionId, version: String(event.version) },
        android: { priority: 'high' },
      });
    }
  }
  return messages;
}

/** Events that can make a push; the rest never look up devices. */
const PUSH_EVENTS: ReadonlySet<string> = new Set([
  'started',
  'switched',
  'phase_changed',
  'expired',
  'participant_expired',
]);

export class PushNotifier {
  constructor(
    private readonly store: WebhookStore,
    private readonly messaging: PushMessaging,
    private readonly logger?: Pick<Logger, 'warn' | 'info'>,
  ) {}

  async notify(events: readonly SessionEvent[]): Promise<void> {
    const relevant = events.filter((event) => PUSH_EVENTS.has(event.type));
    if (relevant.length === 0) return;
    const devices = await this.store.devicesOf([...new Set(relevant.map((event) => event.sessionId))]);
    const messages = pushMessagesFor(relevant, devices);
    for (let i = 0; i < messages.length; i += MAX_MESSAGES_PER_CALL) {
      const batch = messages.slice(i, i + MAX_MESSAGES_PER_CALL);
      const response = await this.messaging.sendEach(batch);
      const dead = response.responses
        .map((result, index) => (DEAD_TOKEN_CODES.has(result.error?.code ?? '') ? batch[index] : undefined))
        .filter(
          (message): message is Message & { token: string } => message !== undefined && 'token' in message,
        );
      if (dead.length > 0) {
        const removed = await this.store.removeDevices(null, [...new Set(dead.map((m) => m.token))]);
        this.logger?.info({ removed }, 'push tokens FCM reports as unregistered were dropped');
      }
      if (response.failureCount > dead.length) {
        this.logger?.warn({ failed: response.failureCount - dead.length }, 'push notifications not sent');
      }
    }
  }
}

/**
 * firebase-admin's Messaging for FCM_SERVICE_ACCOUNT (the service account JSON, or a path to
 * it). Loaded only when configured: the library is large.
 */
export async function fcmMessaging(serviceAccount: string): Promise<PushMessaging> {
  const { cert, initializeApp } = await import('firebase-admin/app');
  const { getMessaging } = await import('firebase-admin/messaging');
  const trimmed = serviceAccount.trim();
  let account: object | string = trimmed;
  if (trimmed.startsWith('{')) {
    try {
      account = JSON.parse(trimmed) as object;
    } catch {
      // Never the parser's message: it quotes the text, and this text holds a private key.
      throw new Error('FCM_SERVICE_ACCOUNT starts with { but is not valid JSON');
    }
  }
  const credential = cert(account);
  const app = initializeApp({ credential }, `synckairos-${process.pid}-${Date.now()}`);
  return getMessaging(app);
}
