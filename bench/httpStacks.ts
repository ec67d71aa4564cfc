// The HTTP layer measured layer by layer: a server process that answers
// `POST /v1/sessions/:id/switch` with the layers of the REST path stacked up to a given depth, on
// Express (its usual middleware packages, kept here for the comparison) or on Fastify (its own
// plugins), over the real engine and Redis store; at the deepest level, the service's own app
// (Fastify). The benchmark reads this process's CPU per request at each depth; the difference
// between two depths is the cost of the layer between them. Forked by bench/run.ts:
//   httpStacks.ts <express|fastify|node> <depth> ; tells its port over IPC.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import cors from 'cors';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { rateLimit as expressRateLimit, type Store } from 'express-rate-limit';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { createApp } from '../src/api/app.js';
import { BatchedRedisStore } from '../src/api/middlewares/batchedRedisStore.js';
import { RATE_LIMIT_KEY_PREFIX, redisRateLimitStore } from '../src/api/middlewares/rateLimit.js';
import { checkAction, commandGuard } from '../src/auth/permissions.js';
import { createTokenVerifier, tokenFrom, type Principal } from '../src/auth/tokens.js';
import { SyncEngine } from '../src/engine/SyncEngine.js';
import { createLogger } from '../src/monitoring/logger.js';
import { createMetrics } from '../src/monitoring/metrics.js';
import { COMMAND_BODY_SCHEMAS, toSessionCommand } from '../src/schemas/commands.js';
import { idSchema, parseInput } from '../src/schemas/requests.js';
import { RedisClock } from '../src/state/RedisClock.js';
import { RedisStateStore } from '../src/state/RedisStateStore.js';
import { connectRedis, createRedisConnection } from '../src/state/redisConnection.js';
import { SyncKairosError } from '../src/types/errors.js';
import type { SessionView } from '../src/types/session.js';
import { FULL_APP_DEPTH, LAYERS } from './lib/layers.js';

const [framework = 'express', depthArg = String(LAYERS.length)] = process.argv.slice(2);
const depth = Number(depthArg);
const redisUrl = process.env.REDIS_URL ?? '';
const sessionIds = (process.env.BENCH_SESSION_IDS ?? '').split(',').filter(Boolean);
const has = (layer: number): boolean => depth >= layer + 1;

const redis = createRedisConnection(redisUrl, { connectionName: 'bench-stack' });
await connectRedis(redis);
const clock = new RedisClock(redis);
await clock.start();
const store = new RedisStateStore(redis, { clock });
const engine = new SyncEngine({ store, clock, recordAudit: false });
const verifier = createTokenVerifier({ secret: process.env.JWT_SECRET ?? null, publicKey: null });
const logger = createLogger({ logLevel: 'warn', nodeEnv: 'production' });
const metrics = createMetrics({ defaultMetrics: false });
const rateLimit = { windowMs: 60_000, max: 1_000_000 };

// Every session the load switches, created and started here (two participants, an hour each).
for (const sessionId of sessionIds) {
  await engine.createSession({
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
    total_time_ms: 3_600_000,
    increment_ms: 0,
  } as Parameters<SyncEngine['createSession']>[0]);
  await engine.execute(sessionId, { type: 'start' });
}
/** What the shallow depths answer: a real view of the same size as the engine's. */
const fixedView: SessionView = await engine.getSession(sessionIds[0] ?? 'none');

/** The switch itself from `validation` on; a fixed answer below it. */
async function switchView(sessionId: string, body: unknown, principal: Principal): Promise<SessionView> {
  if (!has(5)) return { ...fixedView, server_time: clock.nowMs() };
  const id = parseInput(idSchema, sessionId, ['session_id']);
  checkAction(principal, 'switch', id);
  const parsed = parseInput(COMMAND_BODY_SCHEMAS.SWITCH, body ?? {});
  const { command, expectedVersion } = toSessionCommand('SWITCH', parsed);
  const guard = commandGuard(principal, command);
  if (!has(6)) return { ...fixedView, server_time: clock.nowMs() };
  return engine.execute(id, command, { expectedVersion, actor: principal.subject, guard });
}

const ADMIN: Principal = { subject: 'bench', role: 'admin', sessionId: null, expiresAtMs: null };

/** The batched Redis counting behind express-rate-limit's store interface. */
function expressRateLimitStore(): Store {
  const counts = new BatchedRedisStore(redis, RATE_LIMIT_KEY_PREFIX);
  return {
    prefix: RATE_LIMIT_KEY_PREFIX,
    async increment(key) {
      const { current, ttl } = await counts.hit(key, rateLimit.windowMs, rateLimit.max);
      return { totalHits: current, resetTime: new Date(Date.now() + ttl) };
    },
    decrement() {},
    async resetKey(key) {
      await counts.resetKey(key);
    },
  };
}

/** The same layers on Express 5 and its usual middleware, as the service had them before Fastify. */
function expressStack(): http.RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const chain: RequestHandler[] = [];
  if (has(1)) {
    chain.push(
      (req, res, next) => {
        const given = req.headers['x-request-id'];
        res.setHeader('x-request-id', typeof given === 'string' ? given : randomUUID());
        next();
      },
      helmet({ contentSecurityPolicy: { useDefaults: true, directives: { upgradeInsecureRequests: null } } }),
      cors({ origin: ['http://example.test'], methods: ['GET', 'POST', 'DELETE'], maxAge: 600 }),
    );
  }
  if (has(2)) {
    chain.push(
      expressRateLimit({
        windowMs: rateLimit.windowMs,
        limit: rateLimit.max,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        identifier: 'sessions',
        passOnStoreError: true,
        store: expressRateLimitStore(),
      }),
    );
  }
  if (has(3)) chain.push(express.json({ limit: 65_536, strict: true, type: 'application/json' }));
  if (has(4)) {
    chain.push((req, res, next) => {
      verifier.verify(tokenFrom(req.headers.authorization, null)).then((principal) => {
        res.locals.principal = principal;
        next();
      }, next);
    });
  }
  app.post('/v1/sessions/:id/switch', ...chain, async (req, res) => {
    const principal = has(4) ? (res.locals.principal as Principal) : ADMIN;
    const view = await switchView(String(req.params.id), req.body, principal);
    res.status(200).setHeader('cache-control', 'no-store').json(view);
  });
  const errors: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const known = err instanceof SyncKairosError ? err : new SyncKairosError('INTERNAL_ERROR', String(err));
    res.status(known.status).json(known.toBody());
  };
  app.use(errors);
  return app;
}

async function fastifyStack(): Promise<http.Server> {
  if (depth >= FULL_APP_DEPTH) {
    const app = createApp({
      engine,
      store,
      logger,
      metrics,
      bodyLimitBytes: 65_536,
      tokenVerifier: verifier,
      rateLimit: { ...rateLimit, store: redisRateLimitStore(redis) },
      corsOrigins: ['http://example.test'],
    });
    await app.fastify.ready();
    return http.createServer(app);
  }
  const app = Fastify({
    logger: false,
    bodyLimit: 65_536,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
  });
  // Without a body parser below `JSON body parsing`, a body is left unread (as Express does).
  if (!has(3)) {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  }
  if (has(1)) {
    app.addHook('onRequest', async (req, reply) => {
      const given = req.headers['x-request-id'];
      void reply.header('x-request-id', typeof given === 'string' ? given : req.id);
    });
    await app.register(fastifyHelmet, {
      contentSecurityPolicy: { useDefaults: true, directives: { upgradeInsecureRequests: null } },
    });
    await app.register(fastifyCors, {
      origin: ['http://example.test'],
      methods: ['GET', 'POST', 'DELETE'],
      maxAge: 600,
    });
    await app.register(fastifySwagger, { openapi: { info: { title: 'bench', version: '0' } } });
  }
  if (has(2)) {
    await app.register(fastifyRateLimit, {
      max: rateLimit.max,
      timeWindow: rateLimit.windowMs,
      redis,
      nameSpace: 'sk:rl:',
    });
  }
  const principals = new WeakMap<FastifyRequest, Principal>();
  if (has(4)) {
    app.addHook('onRequest', async (req) => {
      principals.set(req, await verifier.verify(tokenFrom(req.headers.authorization, null)));
    });
  }
  app.setErrorHandler(async (err: unknown, _req, reply: FastifyReply) => {
    const known = err instanceof SyncKairosError ? err : new SyncKairosError('INTERNAL_ERROR', String(err));
    return reply.status(known.status).send(known.toBody());
  });
  app.post<{ Params: { id: string } }>('/v1/sessions/:id/switch', async (req, reply) => {
    const view = await switchView(req.params.id, req.body, principals.get(req) ?? ADMIN);
    void reply.header('cache-control', 'no-store');
    return view;
  });
  await app.ready();
  return app.server;
}

let server: http.Server;
if (framework === 'node') {
  server = http.createServer((_req, res) => {
    const body = JSON.stringify({ ...fixedView, server_time: clock.nowMs() });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(body);
  });
} else if (framework === 'fastify') {
  server = await fastifyStack();
} else {
  server = http.createServer(expressStack());
}
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

function shutdown(): void {
  server.closeAllConnections();
  server.close(() => {
    clock.close();
    redis.disconnect();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
