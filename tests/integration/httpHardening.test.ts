// What production needs around the API: per-address rate limits (shared through Redis across
// instances, failing open when Redis is down), security headers, CORS from configuration, and
// an OpenAPI document that lists every route the app serves.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type AppDeps, type HttpApp } from '../../src/api/app.js';
import { redisRateLimitStore } from '../../src/api/middlewares/rateLimit.js';
import { buildOpenApiDocument, documentedRoutes, type OpenApiDocument } from '../../src/api/openapi.js';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { sessionEventsResponseSchema } from '../../src/schemas/responses.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { createRedisConnection, connectRedis } from '../../src/state/redisConnection.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { freshEmbeddedDataDir, type PgliteDataDir } from '../helpers/postgresServer.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { openSocket } from '../helpers/wsClient.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: unknown;
}

interface Served {
  url: string;
  close(): Promise<void>;
}

const running: Served[] = [];

afterEach(async () => {
  for (const served of running.splice(0)) await served.close();
});

/** An app over the in-memory store, listening on 127.0.0.1; `overrides` go to createApp. */
async function serve(overrides: Partial<AppDeps> = {}): Promise<Served> {
  const store = new MemoryStateStore();
  const app: HttpApp = createApp({
    engine: new SyncEngine({ store, clock: systemClock }),
    store,
    logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
    metrics: createMetrics({ defaultMetrics: false }),
    bodyLimitBytes: 65_536,
    ...overrides,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const served = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
  running.push(served);
  return served;
}

/** One request from `localAddress` (a client address of its own on loopback). */
function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; localAddress?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const request = http.request(
      url,
      {
        method: options.method ?? 'GET',
        localAddress: options.localAddress ?? '127.0.0.1',
        agent: false,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let body: unknown = undefined;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: the text is there
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body });
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

const CREATE = { sync_mode: 'global', participants: [{ participant_id: 'a' }], total_time_ms: 60_000 };

describe('rate limiting on /v1/sessions', () => {
  it('a client over its rate gets 429 RATE_LIMITED with Retry-After and RateLimit headers; another address is unaffected', async () => {
    const { url } = await serve({ rateLimit: { windowMs: 60_000, max: 3 } });
    const first = await call(`${url}/v1/sessions`, { method: 'POST', body: CREATE });
    expect(first.status).toBe(201);
    expect(first.headers.ratelimit).toMatch(/^"sessions"; r=2; t=\d+$/);
    expect(first.headers['ratelimit-policy']).toMatch(/^"sessions"; q=3; w=60; pk=:[^:]+:$/);
    expect((await call(`${url}/v1/sessions/nope`)).status).toBe(404);
    expect((await call(`${url}/v1/sessions/nope`)).status).toBe(404);

    const limited = await call(`${url}/v1/sessions/nope`);
    expect(limited.status).toBe(429);
    const retryAfterS = Number(limited.headers['retry-after']);
    expect(retryAfterS).toBeGreaterThan(0);
    expect(retryAfterS).toBeLessThanOrEqual(60);
    expect(limited.headers.ratelimit).toMatch(/^"sessions"; r=0; t=\d+$/);
    expect(limited.body).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: expect.stringContaining('at most 3 per 60 s'),
        details: { retry_after_s: retryAfterS },
      },
    });
    // A refused create changes nothing.
    const refusedCreate = await call(`${url}/v1/sessions`, {
      method: 'POST',
      body: { ...CREATE, session_id: 'late' },
    });
    expect(refusedCreate.status).toBe(429);

    const other = await call(`${url}/v1/sessions/late`, { localAddress: '127.0.0.2' });
    expect(other.status).toBe(404);
    expect(other.headers.ratelimit).toMatch(/^"sessions"; r=2; t=\d+$/);
  });

  it('/v1/time, /health, /ready, /metrics and the docs are never limited', async () => {
    const { url } = await serve({ rateLimit: { windowMs: 60_000, max: 1 } });
    await call(`${url}/v1/sessions/x`);
    expect((await call(`${url}/v1/sessions/x`)).status).toBe(429);
    for (const path of ['/v1/time', '/health', '/ready', '/metrics', '/openapi.json', '/docs']) {
      for (let i = 0; i < 3; i++) {
        const reply = await call(`${url}${path}`);
        expect(reply.status, path).toBe(200);
        expect(reply.headers.ratelimit, path).toBeUndefined();
      }
    }
  });

  it('RATE_LIMIT_MAX=0 turns the limiter off', async () => {
    const { url } = await serve({ rateLimit: { windowMs: 60_000, max: 0 } });
    for (let i = 0; i < 5; i++) expect((await call(`${url}/v1/sessions/x`)).status).toBe(404);
    expect((await call(`${url}/v1/sessions/x`)).headers.ratelimit).toBeUndefined();
  });

  describe('in Redis', () => {
    let redisServer: RedisServerHandle;
    const connections: Redis[] = [];

    beforeAll(async () => {
      redisServer = await startRedisServer();
    });

    afterAll(async () => {
      for (const redis of connections) redis.disconnect();
      await redisServer.close();
    });

    async function redisStore(prefix: string) {
      const redis = createRedisConnection(redisServer.url);
      connections.push(redis);
      await connectRedis(redis);
      return { redis, store: redisRateLimitStore(redis, prefix) };
    }

    it('two instances on one Redis share the limit of an address', async () => {
      const prefix = `sk:rl:${randomUUID().slice(0, 8)}:`;
      const a = await serve({
        rateLimit: { windowMs: 60_000, max: 4, store: (await redisStore(prefix)).store },
      });
      const b = await serve({
        rateLimit: { windowMs: 60_000, max: 4, store: (await redisStore(prefix)).store },
      });
      expect((await call(`${a.url}/v1/sessions/x`)).status).toBe(404);
      expect((await call(`${b.url}/v1/sessions/x`)).status).toBe(404);
      expect((await call(`${a.url}/v1/sessions/x`)).status).toBe(404);
      const fourth = await call(`${b.url}/v1/sessions/x`);
      expect(fourth.status).toBe(404);
      expect(fourth.headers.ratelimit).toMatch(/r=0;/);
      expect((await call(`${a.url}/v1/sessions/x`)).status).toBe(429);
      expect((await call(`${b.url}/v1/sessions/x`)).status).toBe(429);
      expect((await call(`${b.url}/v1/sessions/x`, { localAddress: '127.0.0.2' })).status).toBe(404);
      const { redis } = await redisStore(prefix);
      expect(await redis.get(`${prefix}127.0.0.1`)).toBe('6');
    });

    it('while Redis is down requests pass unlimited (fail open), and the limit counts again once it is back', async () => {
      const prefix = `sk:rl:${randomUUID().slice(0, 8)}:`;
      const { url } = await serve({
        rateLimit: { windowMs: 60_000, max: 2, store: (await redisStore(prefix)).store },
      });
      expect((await call(`${url}/v1/sessions/x`)).status).toBe(404);
      await redisServer.stop();
      try {
        for (let i = 0; i < 4; i++) {
          const reply = await call(`${url}/v1/sessions/x`);
          expect(reply.status).toBe(404);
          expect(reply.headers.ratelimit).toBeUndefined();
        }
      } finally {
        await redisServer.start();
      }
      // The restarted Redis is empty (its scripts too): the store loads them again by itself.
      const deadline = Date.now() + 5_000;
      let reply = await call(`${url}/v1/sessions/x`);
      while (reply.headers.ratelimit === undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        reply = await call(`${url}/v1/sessions/x`);
      }
      expect(reply.headers.ratelimit).toMatch(/^"sessions"; r=1;/);
      expect((await call(`${url}/v1/sessions/x`)).status).toBe(404);
      expect((await call(`${url}/v1/sessions/x`)).status).toBe(429);
    });
  });
});

describe('security headers', () => {
  it('JSON responses and the docs page carry helmet headers, and no x-powered-by', async () => {
    const { url } = await serve();
    for (const path of ['/v1/time', '/v1/sessions/nope', '/docs', '/health']) {
      const reply = await call(`${url}${path}`);
      expect(reply.headers['x-content-type-options'], path).toBe('nosniff');
      expect(reply.headers['x-frame-options'], path).toBe('SAMEORIGIN');
      expect(reply.headers['strict-transport-security'], path).toMatch(/max-age=\d+/);
      expect(reply.headers['referrer-policy'], path).toBe('no-referrer');
      expect(reply.headers['x-powered-by'], path).toBeUndefined();
      const csp = reply.headers['content-security-policy'] ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("object-src 'none'");
      expect(csp, path).not.toContain('upgrade-insecure-requests');
    }
  });
});

describe('CORS', () => {
  const origin = 'https://app.example.com';

  it('an allowed origin may call the API and read the request id, Location and rate-limit headers', async () => {
    const { url } = await serve({
      corsOrigins: [origin, 'http://localhost:5173'],
      rateLimit: { windowMs: 60_000, max: 10 },
    });
    const created = await call(`${url}/v1/sessions`, { method: 'POST', body: CREATE, headers: { origin } });
    expect(created.status).toBe(201);
    expect(created.headers['access-control-allow-origin']).toBe(origin);
    expect(created.headers.vary).toMatch(/Origin/i);
    const exposed = String(created.headers['access-control-expose-headers']).split(',');
    expect(exposed).toEqual(expect.arrayContaining(['x-request-id', 'location', 'ratelimit', 'retry-after']));
    expect(created.headers['access-control-allow-credentials']).toBeUndefined();

    const preflight = await call(`${url}/v1/sessions/x/switch`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers']).toContain('authorization');
    // A preflight is not a request against the limit.
    expect(preflight.headers.ratelimit).toBeUndefined();
  });

  it('an origin not in the list gets no CORS headers (the browser refuses), though the request itself is answered', async () => {
    const { url } = await serve({ corsOrigins: [origin] });
    const reply = await call(`${url}/v1/time`, { headers: { origin: 'https://evil.example.com' } });
    expect(reply.status).toBe(200);
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await call(`${url}/v1/sessions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('without CORS_ORIGINS there are no CORS headers at all (same-origin only); with * any origin', async () => {
    const none = await serve();
    const reply = await call(`${none.url}/v1/time`, { headers: { origin } });
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
    const any = await serve({ corsOrigins: '*' });
    expect(
      (await call(`${any.url}/v1/time`, { headers: { origin } })).headers['access-control-allow-origin'],
    ).toBe('*');
  });
});

describe('methods a path does not serve', () => {
  const notAllowed = (allow: string) => ({
    status: 405,
    allow,
    body: { error: { code: 'METHOD_NOT_ALLOWED', message: expect.stringContaining(allow) } },
  });
  const answer = async (url: string, method: string, headers: Record<string, string> = {}) => {
    const reply = await call(url, { method, headers });
    return { status: reply.status, allow: reply.headers.allow, body: reply.body };
  };

  it('OPTIONS or another method on a known path gets 405 METHOD_NOT_ALLOWED with an Allow header, in the error shape; an unknown path 404', async () => {
    const { url } = await serve();
    expect(await answer(`${url}/v1/sessions/x/switch`, 'OPTIONS')).toEqual(notAllowed('POST'));
    expect(await answer(`${url}/v1/sessions/x/switch`, 'PUT')).toEqual(notAllowed('POST'));
    expect(await answer(`${url}/v1/sessions/x/switch`, 'GET')).toEqual(notAllowed('POST'));
    expect(await answer(`${url}/v1/sessions`, 'OPTIONS')).toEqual(notAllowed('POST, GET, HEAD'));
    expect(await answer(`${url}/v1/sessions/x`, 'POST')).toEqual(notAllowed('GET, HEAD, DELETE'));
    expect(await answer(`${url}/v1/sessions/x/events`, 'DELETE')).toEqual(notAllowed('GET, HEAD'));
    expect(await answer(`${url}/v1/time`, 'POST')).toEqual(notAllowed('GET, HEAD'));
    expect(await answer(`${url}/health`, 'OPTIONS')).toEqual(notAllowed('GET, HEAD'));
    expect(await answer(`${url}/openapi.json`, 'PATCH')).toEqual(notAllowed('GET, HEAD'));
    expect(await answer(`${url}/demo/demo.js`, 'PUT')).toEqual(notAllowed('GET, HEAD'));

    expect((await call(`${url}/health`, { method: 'HEAD' })).status).toBe(200);
    expect(await answer(`${url}/no/such/path`, 'OPTIONS')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
  });

  it('with CORS_ORIGINS a preflight is still answered (204), and a bare OPTIONS gets 405', async () => {
    const origin = 'https://app.example.com';
    const { url } = await serve({ corsOrigins: [origin] });
    const preflight = await call(`${url}/v1/sessions/x/switch`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
    expect(await answer(`${url}/v1/sessions/x/switch`, 'OPTIONS', { origin })).toEqual(notAllowed('POST'));
  });
});

/** Method and path of every route the app serves, as Fastify registered them (HEAD twins and CORS preflights aside). */
function appRoutes(app: HttpApp): string[] {
  const routes = app.routes
    .filter((route) => !/^(HEAD|OPTIONS) /.test(route))
    .map((route) => route.replace(/([^ ])\/$/, '$1'));
  return [...new Set(routes)].sort();
}

/** The paths that need the bearer token (and count against the rate limit). */
const PROTECTED = /^\/v1\/(sessions|webhooks)(\/|$)/;

describe('the OpenAPI document', () => {
  function buildApp(): HttpApp {
    const store = new MemoryStateStore();
    return createApp({
      engine: new SyncEngine({ store, clock: systemClock }),
      store,
      logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
      metrics: createMetrics({ defaultMetrics: false }),
      bodyLimitBytes: 65_536,
    });
  }

  it('is served at /openapi.json as OpenAPI 3.1 with bearer auth, the error shape and SessionView', async () => {
    const { url } = await serve({ rateLimit: { windowMs: 60_000, max: 1200 } });
    const reply = await call(`${url}/openapi.json`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    const document = reply.body as OpenApiDocument;
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.title).toBe('SyncKairos');
    expect(document.info.description).toContain('1200 requests per 60 s');
    const components = document.components as {
      schemas: Record<string, { properties?: Record<string, unknown> }>;
      securitySchemes: Record<string, unknown>;
    };
    expect(components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(components.schemas.SessionView?.properties ?? {})).toEqual(
      expect.arrayContaining(['server_time', 'version', 'participants', 'deadline_at']),
    );
    expect(components.schemas.Error).toBeDefined();
    expect(components.schemas.CreateSessionRequest).toMatchObject({ additionalProperties: false });
    // Cue lists: the create field, the switch field and the view's fields, each described.
    expect(components.schemas.CreateSessionRequest?.properties?.cycles).toBeDefined();
    expect(Object.keys(components.schemas.CueInput?.properties ?? {})).toEqual([
      'label',
      'duration_ms',
      'participant_id',
    ]);
    expect(Object.keys(components.schemas.CueView?.properties ?? {})).toEqual([
      'label',
      'participant_id',
      'planned_ms',
      'actual_ms',
      'over_under_ms',
    ]);
    expect(Object.keys(components.schemas.SessionView?.properties ?? {})).toEqual(
      expect.arrayContaining(['cycle_index', 'cycles', 'over_under_ms']),
    );
    expect(components.schemas.SwitchCommand?.properties?.next_cycle_index).toMatchObject({
      type: 'integer',
      minimum: 0,
    });

    // Every $ref points at something that exists.
    const text = JSON.stringify(document);
    for (const [, target] of text.matchAll(/"\$ref":"#\/([^"]+)"/g)) {
      let node: unknown = document;
      for (const part of (target as string).split('/')) node = (node as Record<string, unknown>)[part];
      expect(node, target).toBeDefined();
    }

    // Every operation states its answers; every /v1/sessions one needs the bearer token and may be limited.
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const responses = operation.responses as Record<string, unknown>;
        expect(Object.keys(responses).length, `${method} ${path}`).toBeGreaterThan(0);
        // Any request may time out before it has arrived.
        expect(responses['408'], `${method} ${path}`).toEqual({ $ref: '#/components/responses/Error408' });
        if (PROTECTED.test(path)) {
          expect(operation.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
          expect(Object.keys(responses), `${method} ${path}`).toEqual(
            expect.arrayContaining(['400', '401', '403', '429', '500', '503']),
          );
        }
      }
    }
  });

  it('declares security on every operation: the bearer token on /v1/sessions and /v1/webhooks, explicitly none (security: []) elsewhere', () => {
    const document = buildOpenApiDocument({ bodyLimitBytes: 65_536, authEnabled: true });
    const publicOperations: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const expected = PROTECTED.test(path) ? [{ bearerAuth: [] }] : [];
        expect(operation, `${method} ${path}`).toHaveProperty('security', expected);
        if (expected.length === 0) publicOperations.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(publicOperations).toEqual(
      expect.arrayContaining([
        'GET /health',
        'GET /ready',
        'GET /metrics',
        'GET /v1/time',
        'GET /openapi.json',
        'GET /docs',
      ]),
    );
  });

  it('describes the events page the server really sends (embedded audit trail)', async () => {
    const dataDir = await freshEmbeddedDataDir();
    const server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir.dir, NODE_ENV: 'test' }),
      { logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }) },
    );
    try {
      const session = {
        ...CREATE,
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      };
      expect(
        (await call(`${server.url}/v1/sessions`, { method: 'POST', body: { ...session, session_id: 'ev' } }))
          .status,
      ).toBe(201);
      expect((await call(`${server.url}/v1/sessions/ev/start`, { method: 'POST' })).status).toBe(200);
      expect((await call(`${server.url}/v1/sessions/ev/switch`, { method: 'POST' })).status).toBe(200);
      let page = await call(`${server.url}/v1/sessions/ev/events?limit=2`);
      for (let i = 0; i < 50 && (page.body as { events?: unknown[] }).events?.length !== 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50)); // the embedded writer is asynchronous
        page = await call(`${server.url}/v1/sessions/ev/events?limit=2`);
      }
      expect(page.status).toBe(200);
      const parsed = sessionEventsResponseSchema.safeParse(page.body);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      expect(parsed.data?.events.map((event) => event.event)).toEqual(['created', 'started']);
      expect(parsed.data?.next_cursor).toEqual(expect.any(String));
    } finally {
      await server.close();
      await dataDir.remove();
    }
  }, 60_000);

  it('lists every route the app serves, and nothing it does not serve', async () => {
    const app = buildApp();
    await app.fastify.ready();
    // The files that HTML pages load are not API operations.
    const served = appRoutes(app).filter((route) => !/^GET \/(docs\/assets|demo|sdk)\//.test(route));
    const documented = documentedRoutes(buildOpenApiDocument({ bodyLimitBytes: 65_536 }));
    expect(served.filter((route) => !documented.includes(route))).toEqual([]);
    expect(documented.filter((route) => !served.includes(route))).toEqual([]);
  });

  it('GET /docs is an HTML page that loads Swagger UI from this service, not from a CDN', async () => {
    const { url } = await serve();
    const page = await call(`${url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const sources = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(source.startsWith('/docs/assets/'), source).toBe(true);
      const asset = await call(`${url}${source}`);
      expect(asset.status, source).toBe(200);
    }
    expect(page.text).not.toMatch(/<script>[^<]/); // no inline script: the CSP allows none
    const init = await call(`${url}/docs/assets/init.js`);
    expect(init.text).toContain("'/openapi.json'");
    expect((await call(`${url}/docs/assets/index.html`)).status).toBe(404);
  });
});

/** Writes `payload` on a new connection and resolves with all the server sent once it closes. */
function exchange(url: string, payload: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(payload));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

/** An answer written straight to the socket: its status and its body, parsed. */
function parseAnswer(answer: string): { status: number; body: unknown } {
  const [head, body] = answer.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head ?? '')?.[1]), body: JSON.parse(body ?? '') };
}

describe('requests that never reach the app', () => {
  let server: RunningServer;
  let dataDir: PgliteDataDir;

  beforeAll(async () => {
    dataDir = await freshEmbeddedDataDir();
    server = await startServer(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir.dir,
        NODE_ENV: 'test',
        HTTP_HEADERS_TIMEOUT_MS: '1000',
        HTTP_REQUEST_TIMEOUT_MS: '1000',
      }),
      { logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }) },
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await dataDir?.remove();
  });

  it('a request whose body never arrives, or whose headers never end, gets 408 REQUEST_TIMEOUT and is closed; an open WebSocket stays', async () => {
    const socket = await openSocket(`${server.url.replace('http', 'ws')}/v1/ws`);
    const bodyless = exchange(
      server.url,
      'POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"sync',
    );
    const headless = exchange(server.url, 'GET /health HTTP/1.1\r\nHost: x\r\n');
    // Node's defaults would hold these for 60 s (headers) and 300 s (body).
    const bound = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('still open after 20 s')), 20_000).unref(),
    );
    for (const answer of await Promise.race([Promise.all([bodyless, headless]), bound])) {
      expect(parseAnswer(answer)).toEqual({
        status: 408,
        body: { error: { code: 'REQUEST_TIMEOUT', message: expect.any(String) } },
      });
    }
    // Upgraded long before the timeouts fell: a WebSocket is not a request that times out.
    await socket.ping();
    await socket.close();
  }, 30_000);

  it('a request the HTTP parser refuses gets 400, or 431 for oversized headers, in the error shape', async () => {
    expect(parseAnswer(await exchange(server.url, 'NOT HTTP AT ALL\r\n\r\n'))).toEqual({
      status: 400,
      body: { error: { code: 'VALIDATION_ERROR', message: expect.any(String) } },
    });
    const oversized = `GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`;
    expect(parseAnswer(await exchange(server.url, oversized))).toEqual({
      status: 431,
      body: { error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) } },
    });
  });
});
