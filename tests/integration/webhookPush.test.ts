// Push notifications at firebase-admin's boundary (FCM cannot be reached from the test machines):
// the exact messages handed to `sendEach` for the devices registered in the audit database
// (PGlite), and tokens FCM reports as unregistered dropped.
import type { BatchResponse, Message } from 'firebase-admin/messaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/audit/migrate.js';
import { pgliteClient, type SqlClient } from '../../src/audit/sqlClient.js';
import type { SessionEvent } from '../../src/types/session.js';
import { fcmMessaging, PushNotifier, type PushMessaging } from '../../src/webhooks/PushNotifier.js';
import { WebhookService } from '../../src/webhooks/WebhookService.js';
import { WebhookStore } from '../../src/webhooks/WebhookStore.js';
import { auditEvent } from '../contract/auditStore.contract.js';
import { freshPgliteDataDir, type PgliteDataDir } from '../helpers/postgresServer.js';

/** firebase-admin's Messaging as far as we use it: records each call, fails the tokens it is told to. */
function recordingMessaging(deadTokens: ReadonlySet<string>): PushMessaging & { calls: Message[][] } {
  const calls: Message[][] = [];
  return {
    calls,
    async sendEach(messages) {
      calls.push(messages);
      const responses = messages.map((message) =>
        'token' in message && deadTokens.has(message.token)
          ? {
              success: false,
              error: { code: 'messaging/registration-token-not-registered', message: 'gone' },
            }
          : { success: true, messageId: `projects/p/messages/${calls.length}` },
      );
      const failureCount = responses.filter((r) => !r.success).length;
      return { responses, successCount: messages.length - failureCount, failureCount } as BatchResponse;
    },
  };
}

/** A change of the session `match` at version 7, after which it is p2's turn. */
function event(type: SessionEvent['type'], overrides: Partial<SessionEvent> = {}): SessionEvent {
  return { ...auditEvent('match', 7, { type, state: { activeParticipantId: 'p2' } }), ...overrides };
}

describe('push notifications', () => {
  let data: PgliteDataDir;
  let sql: SqlClient;
  let store: WebhookStore;
  let service: WebhookService;

  beforeAll(async () => {
    data = await freshPgliteDataDir();
    sql = await pgliteClient(data.dir);
    await runMigrations(sql);
    store = new WebhookStore(sql);
    service = new WebhookService({
      store,
      queue: { add: async () => {}, wake: async () => {}, backlog: async () => 0, close: async () => {} },
      sessionExists: async (sessionId) => sessionId === 'match',
      allowPrivate: true,
    });
    await service.registerDevice('match', { token: 'token-p1', participant_id: 'p1' });
    await service.registerDevice('match', { token: 'token-p2', participant_id: 'p2' });
    await service.registerDevice('match', { token: 'token-watcher' });
  });

  afterAll(async () => {
    await sql?.close();
    await data?.remove();
  });

  it('refuses a device for a session that does not exist, or without a token, and registers nothing', async () => {
    await expect(service.registerDevice('nope', { token: 't' })).rejects.toMatchObject({
      code: 'SESSION_NOT_FOUND',
    });
    await expect(service.registerDevice('match', { token: '' })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { issues: [{ path: 'token' }] },
    });
    expect((await store.devicesOf(['match', 'nope'])).map((d) => d.token).sort()).toEqual([
      'token-p1',
      'token-p2',
      'token-watcher',
    ]);
  });

  it('"your turn" goes to the devices of the participant whose turn it is, exactly as handed to sendEach', async () => {
    const messaging = recordingMessaging(new Set());
    await new PushNotifier(store, messaging).notify([event('switched')]);
    expect(messaging.calls).toEqual([
      [
        {
          token: 'token-p2',
          notification: { title: 'Your turn', body: 'It is your turn in match' },
          data: { type: 'session.switched', session_id: 'match', version: '7' },
          android: { priority: 'high' },
        },
      ],
    ]);
  });

  it('an expiry goes to every device of the session; pauses and other changes push nothing', async () => {
    const messaging = recordingMessaging(new Set());
    await new PushNotifier(store, messaging).notify([event('paused'), event('expired')]);
    expect(messaging.calls).toHaveLength(1);
    expect(messaging.calls[0]!.map((m) => ('token' in m ? m.token : null)).sort()).toEqual([
      'token-p1',
      'token-p2',
      'token-watcher',
    ]);
    expect(messaging.calls[0]![0]).toMatchObject({
      notification: { title: 'Time is up' },
      data: { type: 'session.expired' },
    });
  });

  it('a participant expiry and a phase change reach the right devices', async () => {
    const messaging = recordingMessaging(new Set());
    await new PushNotifier(store, messaging).notify([
      event('participant_expired', { participantId: 'p1' }),
      event('phase_changed' as SessionEvent['type']),
    ]);
    const sent = messaging.calls[0]!.map((m) => ['token' in m ? m.token : null, m.data?.type]);
    expect(sent).toEqual([
      ['token-p1', 'participant.expired'],
      ...['token-p1', 'token-p2', 'token-watcher'].map((token) => [token, 'phase.changed']),
    ]);
  });

  it('drops the tokens FCM reports as unregistered', async () => {
    const messaging = recordingMessaging(new Set(['token-p2']));
    await new PushNotifier(store, messaging).notify([event('expired')]);
    expect((await store.devicesOf(['match'])).map((d) => d.token).sort()).toEqual([
      'token-p1',
      'token-watcher',
    ]);
    await service.unregisterDevice('match', 'token-watcher');
    await expect(service.unregisterDevice('match', 'token-watcher')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('FCM_SERVICE_ACCOUNT', () => {
  it('a service account that is not JSON is refused without quoting it (it holds a private key)', async () => {
    const err = (await fcmMessaging('{"private_key": "-----BEGIN PRIVATE KEY-----secret').catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toBe('FCM_SERVICE_ACCOUNT starts with { but is not valid JSON');
  });
});
