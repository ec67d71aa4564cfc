// The HTTP layer measured layer by layer: a server process that answers
// `POST /v1/sessions/:id/switch` with the layers of the REST path stacked up to a given depth, on
// Express (our own middleware modules) or on Fastify (its own plugins), over the real engine and
// Redis store. The benchmark reads this process's CPU per request at each depth; the difference
// between two depths is the cost of the layer between them. Forked by bench/run.ts:
//   httpStacks.ts <express|fastify|node> <depth> ; tells its port over IPC.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import express, { type RequestHandler } from 'express';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { createApp, jsonBodiesOnly, requestId } from '../src/api/app.js';
import { authenticate, principalOf } from '../src/api/middlewares/authenticate.js';
import { createRateLimiter, redisRateLimitStore } from '../src/api/middlewares/rateLimit.js';
import { corsFor, securityHeaders } from '../src/api/middlewares/security.js';
import { errorHandler } from '../src/api/errorHandler.js';
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

function expressStack(): http.RequestListener {
  if (depth >= FULL_APP_DEPTH) {
    return createApp({
      engine,
      store,
      logger,
      metrics,
      bodyLimitBytes: 65_536,
      tokenVerifier: verifier,
      rateLimit: { ...rateLimit, store: redisRateLimitStore(redis) },
      corsOrigins: ['http://example.test'],
    });
  }
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const chain: RequestHandler[] = [];
  if (has(1)) chain.push(requestId(), securityHeaders(), corsFor(['http://example.test'])!);
  if (has(2)) chain.push(createRateLimiter({ ...rateLimit, logger, store: redisRateLimitStore(redis) })!);
  if (has(3))
    chain.push(jsonBodiesOnly(), express.json({ limit: 65_536, strict: true, type: 'application/json' }));
  if (has(4)) chain.push(authenticate(verifier));
  app.post('/v1/sessions/:id/switch', ...chain, async (req, res) => {
    const principal = has(4) ? principalOf(res) : ADMIN;
    const view = await switchView(String(req.params.id), req.body, principal);
    res.status(200).setHeader('cache-control', 'no-store').json(view);
  });
  app.use(errorHandler({ logger, metrics }));
  return app;
}

async function fastifyStack(): Promise<http.Server> {
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
