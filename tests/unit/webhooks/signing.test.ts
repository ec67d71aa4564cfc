// Webhook messages as receivers see them: signed exactly as Standard Webhooks says (checked with
// the `standardwebhooks` package, an independent implementation), with a webhook-id that names the
// change, and the body DESIGN §12.3 gives.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../../src/types/session.js';
import { messageId, messagesFor, type WebhookBody } from '../../../src/webhooks/messages.js';
import { generateSecret, signedHeaders } from '../../../src/webhooks/signing.js';
import { sessionStateFixture } from '../../helpers/fixtures.js';

function event(overrides: Partial<SessionEvent> = {}): SessionEvent {
  const state = sessionStateFixture({ version: 3, lastEvent: 'switched', activeParticipantId: 'p2' });
  return {
    sessionId: state.sessionId,
    version: 3,
    type: 'switched',
    atMs: state.createdAtMs + 5_000,
    participantId: 'p1',
    actor: null,
    clocksBefore: { participants: {} },
    clocksAfter: { participants: {} },
    state,
    ...overrides,
  };
}

describe('webhook signing', () => {
  it('signs so that the standardwebhooks package verifies the message', () => {
    const secret = generateSecret();
    const body = JSON.stringify({ type: 'session.expired', timestamp: new Date().toISOString(), data: {} });
    const headers = signedHeaders(secret, 'msg_abc', Math.floor(Date.now() / 1000), body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('a changed body, id or timestamp no longer verifies', () => {
    const secret = generateSecret();
    const nowSeconds = Math.floor(Date.now() / 1000);
    const body = '{"type":"session.started"}';
    const headers = signedHeaders(secret, 'msg_abc', nowSeconds, body);
    const verifier = new Webhook(secret);
    expect(() => verifier.verify('{"type":"session.cancelled"}', { ...headers })).toThrow(
      WebhookVerificationError,
    );
    expect(() => verifier.verify(body, { ...headers, 'webhook-id': 'msg_abd' })).toThrow(
      WebhookVerificationError,
    );
    expect(() => verifier.verify(body, { ...headers, 'webhook-timestamp': String(nowSeconds - 1) })).toThrow(
      WebhookVerificationError,
    );
    expect(() => new Webhook(generateSecret()).verify(body, { ...headers })).toThrow(
      WebhookVerificationError,
    );
  });

  it('secrets are whsec_ and the base64 of 32 random bytes, never the same twice', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(generateSecret()).not.toBe(secret);
  });
});

describe('webhook messages', () => {
  it('one change has one id per endpoint, the same however often it is made', () => {
    const change = event();
    expect(messageId('ep_1', change, 'session.switched')).toBe(
      messageId('ep_1', event(), 'session.switched'),
    );
    const others = [
      messageId('ep_2', change, 'session.switched'),
      messageId('ep_1', event({ version: 4 }), 'session.switched'),
      messageId('ep_1', change, 'session.started'),
      // The same session_id and version in a later lifetime of the session is another change.
      messageId(
        'ep_1',
        event({ state: { ...change.state, createdAtMs: change.state.createdAtMs + 1 } }),
        'session.switched',
      ),
    ];
    expect(new Set([messageId('ep_1', change, 'session.switched'), ...others]).size).toBe(5);
    expect(messageId('ep_1', change, 'session.switched')).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
  });

  it('goes to the endpoints subscribed to its type and session, with { type, timestamp, data }', () => {
    const endpoints = [
      { id: 'all', events: ['*'], sessionId: null },
      { id: 'switches', events: ['session.switched'], sessionId: null },
      { id: 'expiries', events: ['session.expired'], sessionId: null },
      { id: 'other-session', events: ['*'], sessionId: 'another' },
      { id: 'this-session', events: ['*'], sessionId: 'session-1' },
    ];
    const messages = messagesFor([event()], endpoints);
    expect(messages.map((m) => m.endpointId)).toEqual(['all', 'switches', 'this-session']);
    const body = JSON.parse(messages[0]!.body) as WebhookBody;
    expect(body.type).toBe('session.switched');
    expect(body.timestamp).toBe(new Date(event().atMs).toISOString());
    expect(body.data).toMatchObject({ session_id: 'session-1', version: 3, active_participant_id: 'p2' });
  });

  it('maps the audit events by name; those without a webhook type send nothing', () => {
    const endpoints = [{ id: 'all', events: ['*'], sessionId: null }];
    const types = (['participant_expired', 'expired', 'cycle_advanced', 'created'] as const).map((type, i) =>
      messagesFor([event({ type, version: i + 1 })], endpoints).map((m) => m.type),
    );
    expect(types).toEqual([['participant.expired'], ['session.expired'], [], ['session.created']]);
    // Work in progress in the engine records phase changes as `phase_changed`.
    const phase = event({ type: 'phase_changed' as SessionEvent['type'] });
    expect(messagesFor([phase], endpoints).map((m) => m.type)).toEqual(['phase.changed']);
  });
});

describe('the verification example in docs/webhooks.md', () => {
  it('accepts our signature and refuses a changed body', async () => {
    const markdown = readFileSync(new URL('../../../docs/webhooks.md', import.meta.url), 'utf8');
    const code = /### Verifying a signature in Node\n\n```js\n([\s\S]*?)```/.exec(markdown)?.[1];
    expect(code).toBeDefined();
    const dir = mkdtempSync(path.join(tmpdir(), 'synckairos-docs-'));
    const file = path.join(dir, 'verify.mjs');
    writeFileSync(file, code!);
    const { verify } = (await import(pathToFileURL(file).href)) as {
      verify: (secret: string, headers: Record<string, string>, body: string) => boolean;
    };
    const secret = generateSecret();
    const body = '{"type":"session.expired"}';
    const headers = { ...signedHeaders(secret, 'msg_doc', Math.floor(Date.now() / 1000), body) };
    expect(verify(secret, headers, body)).toBe(true);
    expect(verify(secret, headers, '{"type":"session.started"}')).toBe(false);
    expect(verify(generateSecret(), headers, body)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
