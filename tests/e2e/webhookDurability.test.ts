// Webhooks lose nothing when an instance dies, through the real entry point. Embedded: a change's
// audit records go to disk in the change's own transaction (the outbox), so a kill -9 right after
// acknowledged changes loses neither an audit record nor a webhook message. Distributed: two
// instances on one Redis and PostgreSQL, one SIGKILLed while it holds delivery jobs; every message
// still arrives, and a duplicate is only one whose answer the dead sender never got.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionView } from '../../src/types/session.js';
import { chessClockInput } from '../helpers/fixtures.js';
import { callJson } from '../helpers/http.js';
import { distributedServers } from '../helpers/distributedServers.js';
import {
  startHttpService,
  startService,
  stopAllServices,
  type ServiceProcess,
} from '../helpers/serviceProcess.js';
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

async function scrape(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** A sample's value in Prometheus text (`name{labels}` as written); null when it is not there. */
function metricValue(text: string, sample: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? null : Number(line.slice(sample.length + 1));
}

/** Subscribes the receiver to every event, waits out the endpoint cache, plays a session up to `version`. */
async function subscribeAndPlay(
  instance: Instance,
  receiver: WebhookReceiver,
  sessionId: string,
  version: number,
): Promise<{ endpoint: { id: string; secret: string }; acknowledged: SessionView[] }> {
  const endpoint = await subscribe(instance, receiver.url);
  // Instances read the endpoints at most a second old.
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  return { endpoint, acknowledged: await play(instance.http, sessionId, version) };
}

/** Waits for a message per acknowledged change; each verified against the secret, in version order. */
async function expectDeliveredInOrder(
  receiver: WebhookReceiver,
  secret: string,
  acknowledged: readonly SessionView[],
): Promise<ReturnType<typeof verifiedMessages>> {
  await until(async () => receiver.accepted().length >= acknowledged.length, 30_000, 'every message');
  const messages = verifiedMessages(secret, receiver);
  expect(messages.map((m) => m.version)).toEqual(acknowledged.map((view) => view.version));
  return messages;
}

/** A thread's nice value (field 19 of /proc/<pid>/task/<tid>/stat); the process's main thread by default. */
function niceOf(pid: number, tid: number | string = pid): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[16]);
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

interface DeliveryView {
  message_id: string;
  status: string;
  attempts: number;
  last_response_code: number | null;
}

async function deliveryLog(instance: Instance, endpointId: string): Promise<DeliveryView[]> {
  const rows: DeliveryView[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${cursor}`;
    const page: { deliveries: DeliveryView[]; next_cursor: string | null } = await callJson(
      instance.http,
      'GET',
      `/v1/webhooks/${endpointId}/deliveries?limit=200${query}`,
    );
    rows.push(...page.deliveries);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return rows;
}

describe('distributed: an instance killed mid-delivery', () => {
  /** More sessions than one instance attempts at once (16): only one message per session is in flight. */
  const SESSIONS = 40;
  const VERSIONS_PER_SESSION = 5;
  const CONCURRENCY_PER_INSTANCE = 16;
  const ANSWER_AFTER_MS = 1_500;
  const startServers = distributedServers();

  it('SIGKILLed while it holds delivery jobs: every message arrives, a duplicate only where the answer never got back', async () => {
    const servers = await startServers();
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    receiver.answerAfter(ANSWER_AFTER_MS);
    const env = {
      ...servers.env,
      WEBHOOK_RETRY_SCHEDULE: Array(30).fill('1000').join(','),
    };
    const [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    const endpoint = await subscribe(a!, receiver.url);
    // Each instance reads the endpoints at most a second old.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const ids = Array.from({ length: SESSIONS }, () => `inflight-${randomUUID()}`);
    await Promise.all(ids.map((id) => play(a!.http, id, VERSIONS_PER_SESSION)));

    // More attempts in flight than one instance makes at once: the other holds some of them.
    await until(
      async () => receiver.inFlight() > CONCURRENCY_PER_INSTANCE + 2,
      30_000,
      'attempts in flight from both instances',
    );
    await kill9(b!);
    const killedAtMs = Date.now();

    const expected = SESSIONS * VERSIONS_PER_SESSION;
    await until(
      async () => new Set(receiver.requests.map((r) => r.id)).size === expected && receiver.inFlight() === 0,
      120_000,
      'every message',
    );
    // Time for a second copy of anything to show up.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    // Every copy is signed right.
    const messages = verifiedMessages(endpoint.secret, receiver);
    expect(messages).toHaveLength(receiver.requests.length);
    // Every change of every session, by version.
    for (const id of ids) {
      const versions = new Set(messages.filter((m) => m.session === id).map((m) => m.version));
      expect([...versions].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
    }
    // A copy beyond the first is sent only because the first was in flight when the sender died:
    // taken before the kill, its answer cut off or written out around it.
    const copies = new Map<string, typeof receiver.requests>();
    for (const request of receiver.requests)
      copies.set(request.id, [...(copies.get(request.id) ?? []), request]);
    const duplicated = [...copies.values()].filter((list) => list.length > 1);
    for (const list of duplicated) {
      for (const earlier of list.slice(0, -1)) {
        expect(earlier.receivedAtMs).toBeLessThan(killedAtMs);
        expect(earlier.cutOff || (earlier.answeredAtMs ?? 0) > killedAtMs - 500).toBe(true);
      }
    }
    process.stdout.write(
      `${expected} messages, ${receiver.requests.length} requests, ${duplicated.length} sent again after the kill\n`,
    );

    // The delivery log: each message once, delivered, with the receiver's answer.
    const log = await deliveryLog(a!, endpoint.id);
    expect(log.map((row) => row.message_id).sort()).toEqual([...copies.keys()].sort());
    for (const row of log) {
      expect(row).toMatchObject({ status: 'delivered', last_response_code: 200 });
      expect(row.attempts).toBeGreaterThanOrEqual(1);
    }
  }, 240_000);
});

describe('distributed: delivery in a thread of the instance (the default)', () => {
  const startServers = distributedServers();

  it('delivers from a thread at nice 10 beside the event loop at 0, and counts the attempts in the instance metrics', async () => {
    const servers = await startServers();
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    const instance = await startInstance(servers.env);
    await instance.service.waitForLog((line) => line.msg === 'webhooks: on' && line.delivering === 'thread');
    const { endpoint, acknowledged } = await subscribeAndPlay(instance, receiver, 'threaded', 5);
    const messages = await expectDeliveredInOrder(receiver, endpoint.secret, acknowledged);

    // Linux keeps a nice value per thread: the commands' thread keeps 0, one thread has 10.
    const pid = instance.service.proc.pid!;
    expect(niceOf(pid)).toBe(0);
    expect(readdirSync(`/proc/${pid}/task`).filter((tid) => niceOf(pid, tid) === 10).length).toBeGreaterThan(
      0,
    );

    // The thread reports its attempts about once a second.
    await until(
      async () =>
        metricValue(
          await scrape(instance.http),
          'synckairos_webhook_deliveries_total{outcome="delivered"}',
        ) === messages.length,
      10_000,
      'the attempts counted',
    );
  }, 90_000);
});

describe('distributed: delivery in its own process (WEBHOOK_DELIVERY=off)', () => {
  const startServers = distributedServers();

  it('an instance with delivery off queues every message and sends none; a webhook worker delivers each once, signed', async () => {
    const servers = await startServers();
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    const instance = await startInstance({ ...servers.env, WEBHOOK_DELIVERY: 'off' });
    const { endpoint, acknowledged } = await subscribeAndPlay(instance, receiver, 'queued-game', 6);

    // Long enough for an instance that delivers to have sent them all (the other tests: ~100 ms).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(receiver.requests).toHaveLength(0);

    const worker = startService({ ...servers.env, WEBHOOK_WORKER_PORT: '0' }, 'src/webhookWorker.ts');
    const { metricsPort } = await worker.waitForLog((line) => line.msg === 'webhook worker: delivering');
    // It runs behind the instances on shared cores: nice 10 (WEBHOOK_WORKER_NICE's default).
    expect(niceOf(worker.proc.pid!)).toBe(10);
    await until(async () => receiver.accepted().length >= acknowledged.length, 30_000, 'every message');
    // A while longer: a copy sent twice would arrive in it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const messages = await expectDeliveredInOrder(receiver, endpoint.secret, acknowledged);
    expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);

    // The deliveries are counted where they happen, and the operator can scrape them there.
    const workerMetrics = await scrape(`http://127.0.0.1:${String(metricsPort)}`);
    expect(metricValue(workerMetrics, 'synckairos_webhook_deliveries_total{outcome="delivered"}')).toBe(
      messages.length,
    );
    expect(metricValue(workerMetrics, 'synckairos_webhook_attempt_duration_seconds_count')).toBe(
      messages.length,
    );
    expect(metricValue(workerMetrics, 'synckairos_webhook_backlog')).toBe(0);
    const instanceMetrics = await scrape(instance.http);
    expect(
      metricValue(instanceMetrics, 'synckairos_webhook_deliveries_total{outcome="delivered"}'),
    ).toBeNull();
  }, 90_000);

  it('a webhook worker started before any instance makes the audit tables itself', async () => {
    const servers = await startServers();
    const worker = startService({ ...servers.env, WEBHOOK_WORKER_PORT: '0' }, 'src/webhookWorker.ts');
    const { metricsPort } = await worker.waitForLog((line) => line.msg === 'webhook worker: delivering');
    const health = await fetch(`http://127.0.0.1:${String(metricsPort)}/health`);
    expect(await health.json()).toEqual({ status: 'ok' });

    // An instance after it finds nothing left to apply, and the worker delivers what it queues.
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    const instance = await startInstance({ ...servers.env, WEBHOOK_DELIVERY: 'off' });
    const ready = await instance.service.waitForLog((line) => line.msg === 'audit store ready');
    expect(ready.applied).toEqual([]);
    const { endpoint, acknowledged } = await subscribeAndPlay(instance, receiver, 'worker-first', 3);
    await expectDeliveredInOrder(receiver, endpoint.secret, acknowledged);
  }, 90_000);
});
