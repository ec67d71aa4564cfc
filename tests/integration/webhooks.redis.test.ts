// Webhooks in distributed mode: two instances on one private Redis and PostgreSQL, sessions
// driven over both instances' REST APIs, messages through the audit relay into the BullMQ
// delivery queue, a receiver on 127.0.0.1, signatures checked with standardwebhooks.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { callJson } from '../helpers/http.js';
import { startPostgresServer, type PostgresServerHandle } from '../helpers/postgresServer.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { testDataDir } from '../helpers/testDataDir.js';
import {
  startWebhookReceiver,
  verifiedMessages,
  waitUntil,
  webhooksReady,
  type WebhookReceiver,
} from '../helpers/webhookReceiver.js';

const silent = createLogger({ logLevel: 'silent', nodeEnv: 'test' });

let redis: RedisServerHandle;
let postgres: PostgresServerHandle;
let instances: RunningServer[] = [];
let receiver: WebhookReceiver;

async function startInstance(databaseUrl: string): Promise<RunningServer> {
  const server = await startServer(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      DATA_DIR: testDataDir(),
      REDIS_URL: redis.url,
      DATABASE_URL: databaseUrl,
      RATE_LIMIT_MAX: '0',
      WEBHOOK_RETRY_SCHEDULE: '50,100,150,200,250,300,350,400',
    }),
    { logger: silent },
  );
  return webhooksReady(server);
}

beforeAll(async () => {
  redis = await startRedisServer();
  postgres = await startPostgresServer();
  const databaseUrl = await postgres.createDatabase();
  instances.push(await startInstance(databaseUrl));
  instances.push(await startInstance(databaseUrl));
});

afterEach(async () => {
  await receiver?.close();
  for (const endpoint of await instances[0]!.webhooks!.list())
    await instances[0]!.webhooks!.delete(endpoint.id);
});

afterAll(async () => {
  for (const instance of instances) await instance.close();
  instances = [];
  await Promise.all([redis?.close(), postgres?.close()]);
});

/** A chess clock of `totalTimeMs` started on one instance and switched on both, `switches` times. */
async function playSession(totalTimeMs: number, switches: number): Promise<string> {
  const sessionId = `whr-${randomUUID()}`;
  const [a, b] = instances.map((instance) => instance.url) as [string, string];
  await callJson(a, 'POST', '/v1/sessions', {
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
    total_time_ms: totalTimeMs,
  });
  await callJson(b, 'POST', `/v1/sessions/${sessionId}/start`, {});
  for (let i = 0; i < switches; i++)
    await callJson(i % 2 === 0 ? a : b, 'POST', `/v1/sessions/${sessionId}/switch`, {});
  return sessionId;
}

describe('webhooks on two instances sharing Redis and PostgreSQL', () => {
  it('a receiver gets each switch and expiry once per webhook-id, signed, in version order per session', async () => {
    receiver = await startWebhookReceiver();
    const endpoint = await instances[1]!.webhooks!.create({
      url: receiver.url,
      events: ['session.switched', 'session.expired', 'phase.changed'],
    });
    // Another instance learns of the endpoint within its cache's second.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const played = await playSession(600_000, 4);
    const expiring = await playSession(300, 0);
    await waitUntil('4 switches and an expiry', () => receiver.accepted().length >= 5);
    const messages = verifiedMessages(endpoint.secret, receiver);
    expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);
    expect(messages.filter((m) => m.session === played).map((m) => [m.type, m.version])).toEqual([
      ['session.switched', 3],
      ['session.switched', 4],
      ['session.switched', 5],
      ['session.switched', 6],
    ]);
    expect(messages.filter((m) => m.session === expiring).map((m) => m.type)).toEqual(['session.expired']);
  });

  it('with the receiver down, every message arrives after the retries, none twice, the attempts logged', async () => {
    receiver = await startWebhookReceiver();
    receiver.answer(503, { 'retry-after': '0' });
    const endpoint = await instances[0]!.webhooks!.create({ url: receiver.url, events: ['*'] });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const sessionId = await playSession(600_000, 2);
    await waitUntil('three refused attempts', () => receiver.requests.length >= 3);
    receiver.answer(200);
    await waitUntil('all 4 messages', () => receiver.accepted().length >= 4);
    const messages = verifiedMessages(endpoint.secret, receiver);
    expect(messages.map((m) => [m.session, m.version])).toEqual([1, 2, 3, 4].map((v) => [sessionId, v]));
    expect(new Set(messages.map((m) => m.id)).size).toBe(4);
    // The log is written right after each answer.
    const log = async () => (await instances[1]!.webhooks!.deliveries(endpoint.id)).deliveries;
    await waitUntil('the log to show all delivered', async () =>
      (await log()).every((d) => d.status === 'delivered'),
    );
    const [first] = await log();
    expect((await log()).map((d) => d.version)).toEqual([1, 2, 3, 4]);
    expect(first!.attempts).toBe(receiver.requests.filter((r) => r.id === messages[0]!.id).length);
    expect(first!.attempts).toBeGreaterThanOrEqual(3);
    expect(first!.last_response_code).toBe(200);
  });
});
