// The HTTP transport: a thin Fastify layer over SyncEngine. Every error leaves through errorHandler.
import { randomUUID } from 'node:crypto';
import http, { type RequestListener } from 'node:http';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type onRequestHookHandler,
} from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { AuditStore } from '../audit/AuditStore.js';
import { demoRoutes } from '../demo/router.js';
import { sdkRoutes } from '../demo/sdk.js';
import type { SyncEngine } from '../engine/SyncEngine.js';
import type { Logger } from '../monitoring/logger.js';
import type { Metrics } from '../monitoring/metrics.js';
import type { StateStore } from '../types/store.js';
import type { WebhookService } from '../webhooks/WebhookService.js';
import { createTokenVerifier, type TokenVerifier } from '../auth/tokens.js';
import { SyncKairosError } from '../types/errors.js';
import { errorHandler, notFound } from './errorHandler.js';
import { authenticate } from './middlewares/authenticate.js';
import { methodNotAllowed } from './middlewares/methodNotAllowed.js';
import { rateLimit, type RateLimitStore } from './middlewares/rateLimit.js';
import { cors, securityHeaders } from './middlewares/security.js';
import { buildOpenApiDocument, documentedMethods } from './openapi.js';
import { jsonBodies } from './requestBody.js';
import { docsRoutes } from './routes/docs.js';
import { eventsRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { sessionsRoutes } from './routes/sessions.js';
import { timeRoutes } from './routes/time.js';
import { webhooksRoutes } from './routes/webhooks.js';
import { devicesRoutes } from './routes/devices.js';

export interface AppDeps {
  engine: SyncEngine;
  store: StateStore;
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes: number;
  /** Checks bearer tokens; without one every caller is an admin (auth off). */
  tokenVerifier?: TokenVerifier;
  /** How long /ready waits for the store's ping. */
  readinessTimeoutMs?: number;
  /** Requests per client address on /v1/sessions (in `store`, else in memory); none when absent or max 0. */
  rateLimit?: { windowMs: number; max: number; store?: RateLimitStore };
  /** Origins a browser may call the REST API from ('*': any); same-origin only when absent. */
  corsOrigins?: readonly string[] | '*';
  /** Proxies in front whose X-Forwarded-For names the client (for rate limits); none when absent. */
  trustProxyHops?: number;
  /** Serves GET /v1/sessions/:id/events; without one that endpoint answers 503 naming 'audit'. */
  auditStore?: AuditStore;
  /** Serves /v1/webhooks and the push devices; without one they answer 503 naming 'audit'. */
  webhooks?: WebhookService | null;
}

/** The app as node:http calls it, with the Fastify instance behind it and the routes it serves. */
export type HttpApp = RequestListener & {
  readonly fastify: FastifyInstance;
  /** `METHOD /path` of every route, as registered (HEAD twins and CORS's OPTIONS included). */
  readonly routes: readonly string[];
};

/** The files that the docs and demo pages load: not API operations, but known paths all the same. */
const PAGE_FILES = { '/docs/assets/{file}': ['get'], '/demo/{file}': ['get'], '/sdk/{file}': ['get'] };

const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The caller's `x-request-id` when it is sane, a fresh one otherwise; echoed in the response. */
function setRequestId(req: FastifyRequest, reply: FastifyReply): void {
  const given = req.headers['x-request-id'];
  reply.header(
    'x-request-id',
    typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID(),
  );
}

export const requestId: onRequestHookHandler = (req, reply, done) => {
  setRequestId(req, reply);
  done();
};

/** Every route and hook, in the order a request meets them. */
async function api(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const verifier = deps.tokenVerifier ?? createTokenVerifier({ secret: null, publicKey: null });
  const document = buildOpenApiDocument({
    bodyLimitBytes: deps.bodyLimitBytes,
    rateLimit: deps.rateLimit,
    authEnabled: verifier.enabled,
  });

  app.setErrorHandler(errorHandler(deps));
  app.addHook('onRequest', requestId);
  await securityHeaders(app);
  await cors(app, deps.corsOrigins ?? []);
  app.addHook('onRequest', methodNotAllowed({ ...documentedMethods(document), ...PAGE_FILES }));
  // Before the body is read: a flood is turned away without parsing it.
  if (deps.rateLimit) await rateLimit(app, { ...deps.rateLimit, logger: deps.logger });
  jsonBodies(app);

  healthRoutes(app, {
    store: deps.store,
    metrics: deps.metrics,
    readinessTimeoutMs: deps.readinessTimeoutMs,
  });
  docsRoutes(app, { document });
  timeRoutes(app, { engine: deps.engine });
  await app.register(
    async (sessions) => {
      // Every path under /v1/sessions needs the token, served or not.
      sessions.addHook('preHandler', authenticate(verifier));
      eventsRoutes(sessions, { auditStore: deps.auditStore });
      devicesRoutes(sessions, { webhooks: deps.webhooks });
      sessionsRoutes(sessions, { engine: deps.engine, metrics: deps.metrics });
      sessions.setNotFoundHandler(notFound);
    },
    { prefix: '/v1/sessions' },
  );
  await app.register(
    async (webhooks) => {
      webhooks.addHook('preHandler', authenticate(verifier));
      webhooksRoutes(webhooks, { webhooks: deps.webhooks });
      webhooks.setNotFoundHandler(notFound);
    },
    { prefix: '/v1/webhooks' },
  );
  sdkRoutes(app, { logger: deps.logger });
  demoRoutes(app, { logger: deps.logger });
  app.setNotFoundHandler(notFound);
}

function noSchemas(): never {
  throw new Error('routes here take no JSON Schema: Zod validates in the handlers');
}

/** The client is the address `hops` proxies back along X-Forwarded-For (the socket's when 0). */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

export function createApp(deps: AppDeps): HttpApp {
  let handle: RequestListener | null = null;
  const answerError = errorHandler(deps);
  const fastify = Fastify({
    // The node:http server is ours (httpServer.ts): Fastify gets its requests through `handle`.
    serverFactory: (handler: RequestListener) => {
      handle = handler;
      return http.createServer();
    },
    bodyLimit: deps.bodyLimitBytes,
    // Zod validates in the handlers and replies are JSON.stringify'd: no route has a JSON
    // Schema, so Ajv and fast-json-stringify (a second of start-up on a busy machine) stay unloaded.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
    trustProxy: trustHops(deps.trustProxyHops ?? 0),
    routerOptions: {
      caseSensitive: false,
      ignoreTrailingSlash: true,
      // Ids are validated by their schema, with a clear error; the router would answer 404.
      maxParamLength: 16_384,
    },
    // The router refused the path (not percent-decodable, a parameter past maxParamLength) before
    // any hook ran: the error shape and a request id, though not the security headers.
    frameworkErrors: (err, req, reply) => {
      setRequestId(req, reply);
      answerError(err, req, reply);
    },
  });
  const routes: string[] = [];
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push(`${method} ${route.url}`);
  });
  // One context for the whole service: the hooks above every route and the not-found answers.
  fastify.register(fastifyPlugin(api), deps);
  let ready = false;
  const loading = Promise.resolve(fastify.ready()).then(() => {
    ready = true;
  });
  loading.catch((err: unknown) => deps.logger.error({ err }, 'the HTTP app could not start'));

  const listener: RequestListener = (req, res) => {
    if (ready) {
      handle!(req, res);
      return;
    }
    loading.then(
      () => handle!(req, res),
      () =>
        res
          .writeHead(500, { 'content-type': 'application/json; charset=utf-8' })
          .end(JSON.stringify(new SyncKairosError('INTERNAL_ERROR', 'Internal server error').toBody())),
    );
  };
  return Object.assign(listener, { fastify, routes });
}
