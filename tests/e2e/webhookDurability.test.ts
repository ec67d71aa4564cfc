// Webhooks lose nothing when an instance dies, through the real entry point. Embedded: a change's
// audit records go to disk in the change's own transaction (the outbox), so a kill -9 right after
// acknowledged changes loses neither an audit record nor a webhook message. Distributed: two
// instances on one Redis and PostgreSQL, one SIGKILLed while it holds delivery jobs; every message
// still arrives, and a duplicate is only one whose answer the dead sender never got.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionView } from '../../src/types/session.js';
import { chessClockInput } from '../helpers/fixtures.js';
import { callJson } from '../helpers/http.js';
import { startHttpService, stopAllServices, type ServiceProcess } from '../helpers/serviceProcess.js';
import { testDataDir } from '../helpers/testDataDir.js';
import { until } from '../helpers/until.js';
import { startWebhookReceiver, verifiedMessages, type WebhookReceiver } from '../helpers/webhookReceiver.js';

interface Instance {
  service: ServiceProcess;
  http: string;
}

const started: Instance[] = [];
const receivers: WebhookReceiver[] = [];

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const instance = await startHttpService(env);
  started.push(instance);
  return instance;
}

async function kill9(instance: Instance): Promise<void> {
  instance.service.proc.kill('SIGKILL');
  expect((await instance.service.exit).signal).toBe('SIGKILL');
}

/** Registers an endpoint for every event once the webhook tables answer (the audit database opens in the background). */
function subscribe(instance: Instance, url: string): Promise<{ id: string; secret: string }> {
  return until(
    () =>
      callJson<{ id: string; secret: string }>(instance.http, 'POST', '/v1/webhooks', { url, events: ['*'] }),
    30_000,
    'the webhook tables',
  );
}

/** Creates, starts and switches a chess clock up to `version`; the acknowledged views, in order. */
async function play(base: string, sessionId: string, version: number): Promise<SessionView[]> {
  const views = [
    await callJson<SessionView>(base, 'POST', '/v1/sessions', chessClockInput(sessionId, 3_600_000)),
  ];
  views.push(await callJson<SessionView>(base, 'POST', `/v1/sessions/${sessionId}/start`));
  while (views[views.length - 1]!.version < version) {
    views.push(await callJson<SessionView>(base, 'POST', `/v1/sessions/${sessionId}/switch`));
  }
  return views;
}

function countById(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') {
    for (const { service } of started) {
      const tail = service.logs.slice(-15).map((line) => JSON.stringify(line));
      process.stderr.write(`instance ${service.proc.pid}:\n${tail.join('\n')}\n${service.stderr()}\n`);
    }
  }
  started.length = 0;
  await stopAllServices();
  for (const receiver of receivers.splice(0)) await receiver.close();
});

describe('embedded: the audit outbox', () => {
  const SESSIONS = 10;
  /** Created (v1), started (v2), switches up to v20: 200 changes, 200 messages. */
  const VERSIONS_PER_SESSION = 20;

  it('SIGKILLed right after acknowledged changes, a restart records every change and sends each message exactly once', async () => {
    const dataDir = testDataDir();
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    // Nothing is taken before the kill, so no message can be in flight when the sender dies: each
    // one is then due exactly once, whatever the kill interrupted.
    receiver.answer(503);
    const env = { DATA_DIR: dataDir, WEBHOOK_RETRY_SCHEDULE: Array(30).fill('1000').join(',') };
    const first = await startInstance(env);
    const endpoint = await subscribe(first, receiver.url);
    const ids = Array.from({ length: SESSIONS }, () => `outbox-${randomUUID()}`);
    const acknowledged = await Promise.all(ids.map((id) => play(first.http, id, VERSIONS_PER_SESSION)));
    // No grace: the process dies the moment the last answer is in.
    await kill9(first);

    receiver.answer(200);
    const second = await startInstance(env);
    for (const [i, id] of ids.entries()) {
      const history = await until(
        async () => {
          const page = await callJson<{ events: Array<{ version: number }> }>(
            second.http,
            'GET',
            `/v1/sessions/${id}/events?limit=100`,
          );
          return page.events.length === VERSIONS_PER_SESSION && page.events;
        },
        30_000,
        `the audit history of ${id}`,
      );
      expect(history.map((event) => event.version)).toEqual(acknowledged[i]!.map((view) => view.version));
    }

    const expected = SESSIONS * VERSIONS_PER_SESSION;
    await until(
      async () => new Set(receiver.accepted().map((r) => r.id)).size === expected,
      60_000,
      'every message',
    );
    // Time for a second copy of anything to show up.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const messages = verifiedMessages(endpoint.secret, receiver);
    expect([...countById(messages.map((m) => m.id)).values()].every((count) => count === 1)).toBe(true);
    expect(messages).toHaveLength(expected);
    for (const [i, id] of ids.entries()) {
      const versions = messages.filter((m) => m.session === id).map((m) => m.version);
      expect(versions.sort((a, b) => a - b)).toEqual(acknowledged[i]!.map((view) => view.version));
    }
  }, 180_000);
});
