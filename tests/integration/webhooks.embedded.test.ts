// Webhooks in embedded mode, end to end: sessions driven over the REST API of a real service
// (PGlite audit trail, LMDB delivery queue in DATA_DIR), a receiver on 127.0.0.1, signatures
// checked with the standardwebhooks package.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/audit/migrate.js';
import { pgliteClient, type SqlClient } from '../../src/audit/sqlClient.js';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { SyncKairosError } from '../../src/types/errors.js';
import { DeliveryProcessor } from '../../src/webhooks/DeliveryProcessor.js';
import type { DeliveryQueue } from '../../src/webhooks/DeliveryQueue.js';
import type { WebhookMessage } from '../../src/webhooks/messages.js';
import { WebhookService } from '../../src/webhooks/WebhookService.js';
import { WebhookStore } from '../../src/webhooks/WebhookStore.js';
import { callJson } from '../helpers/http.js';
import { freshPgliteDataDir, type PgliteDataDir } from '../helpers/postgresServer.js';
import { testDataDir } from '../helpers/testDataDir.js';
import {
  startWebhookReceiver,
  verifiedMessages,
  waitUntil,
  webhooksReady,
  type WebhookReceiver,
} from '../helpers/webhookReceiver.js';

const RETRY_SCHEDULE = '40,80,120,160,200,240,280,320';
const silent = createLogger({ logLevel: 'silent', nodeEnv: 'test' });

/** A service whose audit database (and so the webhook tables) is ready: PGlite opens in the background. */
async function start(dataDir: string): Promise<RunningServer> {
  const server = await startServer(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      RATE_LIMIT_MAX: '0',
      WEBHOOK_RETRY_SCHEDULE: RETRY_SCHEDULE,
    }),
    { logger: silent },
  );
  return webhooksReady(server);
}

/** Creates and starts a chess clock, then switches `switches` times: 2 + switches changes. */
async function playSession(base: string, switches: number): Promise<string> {
  const sessionId = `wh-${randomUUID()}`;
  await callJson(base, 'POST', '/v1/sessions', {
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
    total_time_ms: 600_000,
  });
  await callJson(base, 'POST', `/v1/sessions/${sessionId}/start`, {});
  for (let i = 0; i < switches; i++) await callJson(base, 'POST', `/v1/sessions/${sessionId}/switch`, {});
  return sessionId;
}

describe('webhooks on an embedded service', () => {
  let dataDir: string;
  let server: RunningServer;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    dataDir = testDataDir();
    server = await start(dataDir);
  });

  afterEach(async () => {
    await receiver?.close();
    for (const endpoint of await server.webhooks!.list()) await server.webhooks!.delete(endpoint.id);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('sends every change once per webhook-id, signed, in version order', async () => {
    receiver = await startWebhookReceiver();
    const endpoint = await server.webhooks!.create({ url: receiver.url, events: ['*'] });
    const sessionId = await playSession(server.url, 3);
    await waitUntil('5 messages', () => receiver.accepted().length >= 5);
    await waitUntil('the log to show all delivered', async () =>
      (await server.webhooks!.deliveries(endpoint.id)).deliveries.every((d) => d.status === 'delivered'),
    );
    const messages = verifiedMessages(endpoint.secret, receiver);
    expect(messages.map((m) => [m.type, m.version])).toEqual([
      ['session.created', 1],
      ['session.started', 2],
      ['session.switched', 3],
      ['session.switched', 4],
      ['session.switched', 5],
    ]);
    expect(new Set(messages.map((m) => m.id)).size).toBe(5);
    // A message leaves the queue just after its outcome is logged (a kill in between sends it
    // again, never loses it): the backlog reaches 0 a moment after the log shows all delivered.
    let metrics = '';
    await waitUntil('the backlog to empty', async () => {
      metrics = await (await fetch(`${server.url}/metrics`)).text();
      return /^synckairos_webhook_backlog 0$/m.test(metrics);
    });
    expect(metrics).toMatch(/^synckairos_webhook_deliveries_total\{outcome="delivered"\} ([5-9]|\d\d+)$/m);
    expect(metrics).toMatch(/^synckairos_webhook_attempt_duration_seconds_count ([5-9]|\d\d+)$/m);
    const log = await server.webhooks!.deliveries(endpoint.id);
    expect(
      log.deliveries.map((d) => [d.session_id, d.version, d.status, d.attempts, d.last_response_code]),
    ).toEqual([1, 2, 3, 4, 5].map((version) => [sessionId, version, 'delivered', 1, 200]));
  });

  it('sends only the subscribed types of the subscribed session', async () => {
    receiver = await startWebhookReceiver();
    const watched = await playSession(server.url, 0);
    const endpoint = await server.webhooks!.create({
      url: receiver.url,
      events: ['session.switched'],
      session_id: watched,
    });
    await playSession(server.url, 2);
    await callJson(server.url, 'POST', `/v1/sessions/${watched}/switch`, {});
    await waitUntil('the switch of the watched session', () => receiver.accepted().length >= 1);
    // The other session's switches came first and were not sent: the log has the one message.
    const log = await server.webhooks!.deliveries(endpoint.id);
    expect(log.deliveries.map((d) => [d.session_id, d.type, d.version])).toEqual([
      [watched, 'session.switched', 3],
    ]);
    expect(verifiedMessages(endpoint.secret, receiver).map((m) => m.type)).toEqual(['session.switched']);
  });

  it('sends a reset as session.reset, from the audit trail like every change', async () => {
    receiver = await startWebhookReceiver();
    const endpoint = await server.webhooks!.create({ url: receiver.url, events: ['session.reset'] });
    const sessionId = await playSession(server.url, 1);
    await callJson(server.url, 'POST', `/v1/sessions/${sessionId}/reset`, {});
    await waitUntil('the reset', () => receiver.accepted().length >= 1);
    const log = await server.webhooks!.deliveries(endpoint.id);
    expect(log.deliveries.map((d) => [d.session_id, d.type, d.version])).toEqual([
      [sessionId, 'session.reset', 4],
    ]);
    const page = await callJson<{ events: { event: string; version: number }[] }>(
      server.url,
      'GET',
      `/v1/sessions/${sessionId}/events`,
    );
    expect(page.events.at(-1)).toMatchObject({
      event: 'reset',
      version: 4,
    });
  });

  it('with the receiver down, retries until it is back: every message once, in order, the attempts logged', async () => {
    receiver = await startWebhookReceiver();
    receiver.answer(503);
    const endpoint = await server.webhooks!.create({ url: receiver.url, events: ['*'] });
    await playSession(server.url, 1);
    await waitUntil('three refused attempts', () => receiver.requests.length >= 3);
    // The first message holds the later ones of its session back while it is retried.
    expect(new Set(receiver.requests.map((r) => r.id)).size).toBe(1);
    receiver.answer(200);
    await waitUntil('all 3 messages', () => receiver.accepted().length >= 3);
    const messages = verifiedMessages(endpoint.secret, receiver);
    expect(messages.map((m) => m.version)).toEqual([1, 2, 3]);
    expect(new Set(messages.map((m) => m.id)).size).toBe(3);
    // The log is written right after each answer.
    await waitUntil('the log to show all delivered', async () =>
      (await server.webhooks!.deliveries(endpoint.id)).deliveries.every((d) => d.status === 'delivered'),
    );
    const log = (await server.webhooks!.deliveries(endpoint.id)).deliveries;
    expect(log.map((d) => d.version)).toEqual([1, 2, 3]);
    expect(log[0]!.attempts).toBeGreaterThanOrEqual(4);
    expect(log[0]!.attempts).toBe(receiver.requests.filter((r) => r.id === messages[0]!.id).length);
    expect(log[0]!.last_response_code).toBe(200);
  });

  it('fails a message for good once the schedule is spent, logging the last answer', async () => {
    receiver = await startWebhookReceiver();
    receiver.answer(500);
    const endpoint = await server.webhooks!.create({ url: receiver.url, events: ['session.created'] });
    await playSession(server.url, 0);
    await waitUntil('the message to fail', async () => {
      const [first] = (await server.webhooks!.deliveries(endpoint.id)).deliveries;
      return first?.status === 'failed';
    });
    const [first] = (await server.webhooks!.deliveries(endpoint.id)).deliveries;
    // One first attempt and one per scheduled retry.
    expect(first).toMatchObject({ attempts: 9, last_response_code: 500, next_attempt_at: null });
    expect(first!.last_error).toContain('receiver says 500');
    expect(receiver.requests).toHaveLength(9);
  });

  it('a 410 disables the endpoint: nothing more is sent to it', async () => {
    receiver = await startWebhookReceiver();
    // Refused (and retried) until all four changes are logged, then gone.
    receiver.answer(503);
    const endpoint = await server.webhooks!.create({ url: receiver.url, events: ['*'] });
    await playSession(server.url, 2);
    const log = async () => (await server.webhooks!.deliveries(endpoint.id)).deliveries;
    await waitUntil('4 messages logged', async () => (await log()).length === 4);
    receiver.answer(410);
    await waitUntil('the endpoint disabled', async () => (await server.webhooks!.get(endpoint.id)).disabled);
    await waitUntil('no message pending', async () => (await log()).every((d) => d.status !== 'pending'));
    expect(receiver.requests.filter((r) => r.answered === 410)).toHaveLength(1);
    // Only the first message was ever sent: the later ones waited behind it, then failed with it.
    expect(new Set(receiver.requests.map((r) => r.id)).size).toBe(1);
    const rows = await log();
    expect(rows.map((d) => d.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(rows[0]).toMatchObject({ last_response_code: 410 });
    for (const row of rows.slice(1)) expect(row.last_error).toMatch(/endpoint disabled/);
    expect((await server.webhooks!.get(endpoint.id)).disabled_reason).toMatch(/410/);
  });

  it('refuses bad endpoints with the field at fault, and creates nothing', async () => {
    const bad: Array<[unknown, string]> = [
      [{ url: 'not a url', events: ['*'] }, 'url'],
      [{ url: 'ftp://example.com/hook', events: ['*'] }, 'url'],
      [{ url: 'https://example.com/hook', events: [] }, 'events'],
      [{ url: 'https://example.com/hook', events: ['session.exploded'] }, 'events.0'],
      [{ url: 'https://example.com/hook', events: ['*'], session_id: 'no-such-session' }, 'session_id'],
      [{ url: 'https://example.com/hook', events: ['*'], secret: 'mine' }, 'secret'],
      [{ events: ['*'] }, 'url'],
    ];
    for (const [body, field] of bad) {
      const err = await server.webhooks!.create(body).catch((e: unknown) => e);
      expect(err, JSON.stringify(body)).toBeInstanceOf(SyncKairosError);
      expect((err as SyncKairosError).code).toBe('VALIDATION_ERROR');
      const issues = ((err as SyncKairosError).details as { issues: Array<{ path: string }> }).issues;
      expect(
        issues.map((issue) => issue.path),
        JSON.stringify(body),
      ).toContain(field);
    }
    expect(await server.webhooks!.list()).toEqual([]);
  });

  it('lists, gets and deletes endpoints; the secret is shown only at creation', async () => {
    const created = await server.webhooks!.create({
      url: 'https://example.com/a',
      events: ['session.expired'],
    });
    expect(created.secret).toMatch(/^whsec_/);
    const listed = await server.webhooks!.list();
    expect(listed).toEqual([
      {
        id: created.id,
        url: 'https://example.com/a',
        events: ['session.expired'],
        session_id: null,
        disabled: false,
        disabled_reason: null,
        created_at: created.created_at,
      },
    ]);
    expect(await server.webhooks!.get(created.id)).not.toHaveProperty('secret');
    await server.webhooks!.delete(created.id);
    await expect(server.webhooks!.get(created.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(server.webhooks!.delete(created.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('webhooks across a restart of an embedded service', () => {
  it('loses nothing: messages queued before the restart arrive after it, each once', async () => {
    const dataDir = testDataDir();
    const receiver = await startWebhookReceiver();
    let server = await start(dataDir);
    try {
      receiver.answer(503);
      const endpoint = await server.webhooks!.create({ url: receiver.url, events: ['*'] });
      await playSession(server.url, 2);
      await waitUntil('a refused attempt', () => receiver.requests.length >= 1);
      // Closed while the first message waits for its retry and the other three wait behind it.
      await server.close();
      receiver.answer(200);
      server = await start(dataDir);
      await waitUntil('all 4 messages', () => receiver.accepted().length >= 4);
      const messages = verifiedMessages(endpoint.secret, receiver);
      expect(messages.map((m) => m.version)).toEqual([1, 2, 3, 4]);
      expect(new Set(messages.map((m) => m.id)).size).toBe(4);
    } finally {
      await server.close();
      await receiver.close();
    }
  }, 90_000);
});

/** A queue that only records what it is given: these tests look at the service's decisions. */
function recordingQueue(): DeliveryQueue & { added: WebhookMessage[] } {
  const added: WebhookMessage[] = [];
  return {
    added,
    add: async (m) => void added.push(...m),
    wake: async () => {},
    backlog: async () => added.length,
    close: async () => {},
  };
}

describe('webhook service rules', () => {
  let data: PgliteDataDir;
  let sql: SqlClient;
  let store: WebhookStore;

  beforeAll(async () => {
    data = await freshPgliteDataDir();
    sql = await pgliteClient(data.dir);
    await runMigrations(sql);
    store = new WebhookStore(sql);
  });

  afterAll(async () => {
    await sql?.close();
    await data?.remove();
  });

  it('refuses more than the endpoint limit, and creates nothing', async () => {
    const service = new WebhookService({
      store,
      queue: recordingQueue(),
      sessionExists: async () => true,
      allowPrivate: true,
      maxEndpoints: 2,
    });
    await service.create({ url: 'https://example.com/1', events: ['*'] });
    await service.create({ url: 'https://example.com/2', events: ['*'] });
    await expect(service.create({ url: 'https://example.com/3', events: ['*'] })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    expect((await service.list()).map((e) => e.url)).toEqual([
      'https://example.com/1',
      'https://example.com/2',
    ]);
    for (const endpoint of await service.list()) await service.delete(endpoint.id);
  });

  it('in production, refuses a URL to a loopback, private or metadata address at creation', async () => {
    const service = new WebhookService({
      store,
      queue: recordingQueue(),
      sessionExists: async () => true,
      allowPrivate: false,
    });
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://[::1]/hook',
      'http://10.1.2.3/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:127.0.0.1]/hook',
    ]) {
      const err = (await service.create({ url, events: ['*'] }).catch((e: unknown) => e)) as SyncKairosError;
      expect(err.code, url).toBe('VALIDATION_ERROR');
      expect((err.details as { issues: Array<{ path: string }> }).issues[0]!.path).toBe('url');
    }
    expect(await service.list()).toEqual([]);
  });

  it('in production, refuses to deliver to a URL that now resolves to loopback', async () => {
    const receiver = await startWebhookReceiver();
    try {
      // Created while allowed (DNS said public then, say); by delivery time it is loopback.
      const lenient = new WebhookService({
        store,
        queue: recordingQueue(),
        sessionExists: async () => true,
        allowPrivate: true,
      });
      const endpoint = await lenient.create({ url: receiver.url, events: ['*'] });
      const message: WebhookMessage = {
        id: `msg_${randomUUID()}`,
        endpointId: endpoint.id,
        sessionId: 's',
        version: 1,
        type: 'session.created',
        body: '{}',
      };
      await store.logPending([message], Date.now());
      const processor = new DeliveryProcessor({ store, retryScheduleMs: [10], allowPrivate: false });
      expect(await processor.process(message)).toMatchObject({ retryInMs: expect.any(Number) });
      expect(receiver.requests).toHaveLength(0);
      expect(await store.deliveries(endpoint.id, 0, 10)).toEqual([
        expect.objectContaining({
          messageId: message.id,
          status: 'pending',
          attempts: 1,
          lastResponseCode: null,
          lastError: expect.stringContaining('127.0.0.1 (loopback)'),
        }),
      ]);
      await lenient.delete(endpoint.id);
    } finally {
      await receiver.close();
    }
  });
});
