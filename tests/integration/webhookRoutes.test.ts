// The webhook and push-device routes over REST, on a real embedded service with auth on (PGlite
// audit trail, LMDB delivery queue): what an admin may do, what everyone else is refused, and a
// receiver on 127.0.0.1 that gets the signed messages of a session driven over REST.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config/config.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import {
  createdWebhookViewSchema,
  deliveryPageSchema,
  deviceViewSchema,
  webhookEndpointViewSchema,
  webhookListSchema,
} from '../../src/schemas/webhooks.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { testDataDir } from '../helpers/testDataDir.js';
import {
  startWebhookReceiver,
  verifiedMessages,
  waitUntil,
  webhooksReady,
  type WebhookReceiver,
} from '../helpers/webhookReceiver.js';

const SECRET = 'webhook-routes-test-secret-0123456789';
const silent = createLogger({ logLevel: 'silent', nodeEnv: 'test' });

function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

interface Answer {
  status: number;
  // The parsed JSON answer: each test asserts its shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

describe('webhook and device routes', () => {
  let server: RunningServer;
  let admin: string;
  let receiver: WebhookReceiver | undefined;

  async function call(method: string, path: string, bearer: string | null, body?: unknown): Promise<Answer> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text) };
  }

  async function createSession(): Promise<string> {
    const sessionId = `wr-${randomUUID()}`;
    const created = await call('POST', '/v1/sessions', admin, {
      session_id: sessionId,
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
      total_time_ms: 600_000,
    });
    expect(created.status).toBe(201);
    return sessionId;
  }

  const listIds = async (): Promise<string[]> =>
    ((await call('GET', '/v1/webhooks', admin)).body.webhooks as Array<{ id: string }>).map((w) => w.id);

  beforeAll(async () => {
    server = await startServer(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        NODE_ENV: 'test',
        DATA_DIR: testDataDir(),
        RATE_LIMIT_MAX: '0',
        JWT_SECRET: SECRET,
        WEBHOOK_RETRY_SCHEDULE: '40,80,120',
      }),
      { logger: silent },
    );
    await webhooksReady(server);
    admin = await token({ sub: 'ops', role: 'admin' });
  });

  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
    for (const endpoint of await server.webhooks!.list()) await server.webhooks!.delete(endpoint.id);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('creates (201, a whsec_ secret shown once), lists and gets without the secret, deletes (204, then 404)', async () => {
    const created = await call('POST', '/v1/webhooks', admin, {
      url: 'http://127.0.0.1:9/hook',
      events: ['session.started', 'session.switched'],
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    // Each answer is what the OpenAPI document says (strict: no field it does not name).
    createdWebhookViewSchema.parse(created.body);
    expect(created.body).toMatchObject({
      url: 'http://127.0.0.1:9/hook',
      events: ['session.started', 'session.switched'],
      session_id: null,
      disabled: false,
    });
    const id = created.body.id as string;

    const listed = await call('GET', '/v1/webhooks', admin);
    expect(listed.status).toBe(200);
    webhookListSchema.parse(listed.body);
    expect(listed.body.webhooks.map((w: { id: string }) => w.id)).toEqual([id]);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    expect(listed.body.webhooks[0]).not.toHaveProperty('secret');

    const got = await call('GET', `/v1/webhooks/${id}`, admin);
    expect(got.status).toBe(200);
    webhookEndpointViewSchema.parse(got.body);
    expect(got.body).toEqual({ ...created.body, secret: undefined });
    expect(got.body).not.toHaveProperty('secret');

    expect((await call('DELETE', `/v1/webhooks/${id}`, admin)).status).toBe(204);
    for (const [method, path] of [
      ['GET', `/v1/webhooks/${id}`],
      ['DELETE', `/v1/webhooks/${id}`],
      ['GET', `/v1/webhooks/${id}/deliveries`],
    ] as const) {
      const gone = await call(method, path, admin);
      expect(gone.status, `${method} ${path}`).toBe(404);
      expect(gone.body.error).toMatchObject({ code: 'NOT_FOUND', details: { webhook_id: id } });
    }
    expect(await listIds()).toEqual([]);
  });

  it('delivers a signed session.started to a receiver registered over REST, and shows it in the deliveries', async () => {
    receiver = await startWebhookReceiver();
    const sessionId = await createSession();
    const created = await call('POST', '/v1/webhooks', admin, {
      url: receiver.url,
      events: ['session.started'],
      session_id: sessionId,
    });
    expect(created.status).toBe(201);
    expect((await call('POST', `/v1/sessions/${sessionId}/start`, admin, {})).status).toBe(200);

    await waitUntil('the session.started message', () => receiver!.accepted().length >= 1);
    expect(
      verifiedMessages(created.body.secret, receiver).map((m) => [m.type, m.session, m.version]),
    ).toEqual([['session.started', sessionId, 2]]);
    let deliveries: Answer = { status: 0, body: null };
    await waitUntil('the delivery log to say delivered', async () => {
      deliveries = await call('GET', `/v1/webhooks/${created.body.id}/deliveries?limit=10`, admin);
      return deliveries.body.deliveries[0]?.status === 'delivered';
    });
    expect(deliveries.status).toBe(200);
    deliveryPageSchema.parse(deliveries.body);
    expect(deliveries.body).toMatchObject({
      deliveries: [
        { session_id: sessionId, type: 'session.started', version: 2, attempts: 1, last_response_code: 200 },
      ],
      next_cursor: null,
    });
    const badPage = await call('GET', `/v1/webhooks/${created.body.id}/deliveries?limit=0`, admin);
    expect(badPage.status).toBe(400);
    expect(badPage.body.error.details.issues[0].path).toBe('query.limit');
  });

  it('refuses bad inputs with 400 naming the field, and creates nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{ url: 'not a url', events: ['*'] }, 'url'],
      [{ url: 'ftp://127.0.0.1/hook', events: ['*'] }, 'url'],
      [{ url: 'http://127.0.0.1:9/hook', events: ['session.exploded'] }, 'events.0'],
      [{ url: 'http://127.0.0.1:9/hook', events: [] }, 'events'],
      [
        { url: 'http://127.0.0.1:9/hook', events: ['*'], session_id: `no-such-${randomUUID()}` },
        'session_id',
      ],
      [{ url: 'http://127.0.0.1:9/hook', events: ['*'], colour: 'red' }, 'colour'],
    ];
    for (const [body, field] of cases) {
      const refused = await call('POST', '/v1/webhooks', admin, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.code).toBe('VALIDATION_ERROR');
      expect(refused.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(field);
    }
    expect(await listIds()).toEqual([]);
  });

  it('refuses participants, viewers and session-bound admins with 403, changing nothing', async () => {
    const sessionId = await createSession();
    const kept = await call('POST', '/v1/webhooks', admin, { url: 'http://127.0.0.1:9/hook', events: ['*'] });
    const others = [
      await token({ sub: 'white', role: 'participant', session_id: sessionId }),
      await token({ sub: 'fan', role: 'viewer' }),
      await token({ sub: 'ref', role: 'admin', session_id: sessionId }),
    ];
    for (const bearer of others) {
      for (const [method, path, body] of [
        ['POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/other', events: ['*'] }],
        ['GET', '/v1/webhooks', undefined],
        ['GET', `/v1/webhooks/${kept.body.id}`, undefined],
        ['GET', `/v1/webhooks/${kept.body.id}/deliveries`, undefined],
        ['DELETE', `/v1/webhooks/${kept.body.id}`, undefined],
      ] as const) {
        const refused = await call(method, path, bearer, body);
        expect(refused.status, `${method} ${path}`).toBe(403);
        expect(refused.body.error.code).toBe('FORBIDDEN');
      }
    }
    expect((await call('GET', '/v1/webhooks', null)).status).toBe(401);
    expect(await listIds()).toEqual([kept.body.id]);
  });

  it('registers (201) and unregisters (204) push devices: an admin, or a participant for itself', async () => {
    const sessionId = await createSession();
    const devices = `/v1/sessions/${sessionId}/devices`;
    const added = await call('POST', devices, admin, { token: 'fcm-admin-phone' });
    expect(added.status).toBe(201);
    deviceViewSchema.parse(added.body);
    expect(added.body).toEqual({ session_id: sessionId, token: 'fcm-admin-phone', participant_id: null });

    const white = await token({ sub: 'white', role: 'participant', session_id: sessionId });
    const own = await call('POST', devices, white, { token: 'fcm-white', participant_id: 'white' });
    expect(own.status).toBe(201);
    const forOther = await call('POST', devices, white, { token: 'fcm-x', participant_id: 'black' });
    expect(forOther.status).toBe(403);
    const viewer = await token({ sub: 'fan', role: 'viewer', session_id: sessionId });
    expect((await call('POST', devices, viewer, { token: 'fcm-fan' })).status).toBe(403);

    for (const body of [
      { token: '' },
      { participant_id: 'white' },
      { token: 'x'.repeat(4097) },
      { token: 7 },
    ]) {
      const refused = await call('POST', devices, admin, body);
      expect(refused.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(refused.body.error.details.issues.map((i: { path: string }) => i.path)).toContain('token');
    }
    const unknownSession = await call('POST', `/v1/sessions/no-such-${randomUUID()}/devices`, admin, {
      token: 't',
    });
    expect(unknownSession.status).toBe(404);
    expect(unknownSession.body.error.code).toBe('SESSION_NOT_FOUND');

    expect((await call('DELETE', `${devices}/fcm-white`, white)).status).toBe(204);
    expect((await call('DELETE', `${devices}/fcm-admin-phone`, viewer)).status).toBe(403);
    expect((await call('DELETE', `${devices}/fcm-admin-phone`, admin)).status).toBe(204);
    const again = await call('DELETE', `${devices}/fcm-admin-phone`, admin);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('NOT_FOUND');
    // The refused registrations stored nothing: only the two devices above were there to remove.
    expect((await call('DELETE', `${devices}/fcm-x`, admin)).status).toBe(404);
    expect((await call('DELETE', `${devices}/fcm-fan`, admin)).status).toBe(404);
  });
});

describe('webhook routes without an audit trail, and under the rate limit', () => {
  function app(rateLimit?: { windowMs: number; max: number }) {
    const store = new MemoryStateStore();
    return createApp({
      engine: new SyncEngine({ store, clock: systemClock }),
      store,
      logger: silent,
      metrics: createMetrics({ defaultMetrics: false }),
      bodyLimitBytes: 65_536,
      ...(rateLimit === undefined ? {} : { rateLimit }),
    }).fastify;
  }

  it('answers 503 STORE_UNAVAILABLE naming audit', async () => {
    const fastify = app();
    for (const [method, url, payload] of [
      ['GET', '/v1/webhooks', undefined],
      ['POST', '/v1/webhooks', { url: 'http://a.test/', events: ['*'] }],
      ['GET', '/v1/webhooks/ep_x/deliveries', undefined],
      ['POST', '/v1/sessions/s1/devices', { token: 't' }],
      ['DELETE', '/v1/sessions/s1/devices/t', undefined],
    ] as const) {
      const answer = await fastify.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
      expect(answer.statusCode, `${method} ${url}`).toBe(503);
      expect(answer.json().error).toMatchObject({ code: 'STORE_UNAVAILABLE', details: { store: 'audit' } });
    }
    await fastify.close();
  });

  it('counts /v1/webhooks requests against the same limit as /v1/sessions', async () => {
    const fastify = app({ windowMs: 60_000, max: 2 });
    expect((await fastify.inject({ method: 'GET', url: '/v1/webhooks' })).statusCode).toBe(503);
    expect((await fastify.inject({ method: 'GET', url: '/v1/sessions/s1' })).statusCode).toBe(404);
    const limited = await fastify.inject({ method: 'GET', url: '/v1/webhooks' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
    await fastify.close();
  });
});
