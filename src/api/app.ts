// The HTTP transport: a thin layer over SyncEngine. Every error leaves through errorHandler.
import { randomUUID } from 'node:crypto';
import express, { type Application, type RequestHandler } from 'express';
import type { Store as RateLimitStore } from 'express-rate-limit';
import type { AuditStore } from '../audit/AuditStore.js';
import { demoRouter } from '../demo/router.js';
import { sdkRouter } from '../demo/sdk.js';
import type { SyncEngine } from '../engine/SyncEngine.js';
import type { Logger } from '../monitoring/logger.js';
import type { Metrics } from '../monitoring/metrics.js';
import { SyncKairosError } from '../types/errors.js';
import type { StateStore } from '../types/store.js';
import { createTokenVerifier, type TokenVerifier } from '../auth/tokens.js';
import { errorHandler, notFoundHandler } from './errorHandler.js';
import { authenticate } from './middlewares/authenticate.js';
import { methodNotAllowed } from './middlewares/methodNotAllowed.js';
import { createRateLimiter } from './middlewares/rateLimit.js';
import { corsFor, securityHeaders } from './middlewares/security.js';
import { buildOpenApiDocument, documentedMethods } from './openapi.js';
import { docsRouter } from './routes/docs.js';
import { eventsRouter } from './routes/events.js';
import { healthRouter } from './routes/health.js';
import { sessionsRouter } from './routes/sessions.js';
import { timeRouter } from './routes/time.js';

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
}

/** The files that the docs and demo pages load: not API operations, but known paths all the same. */
const PAGE_FILES = { '/docs/assets/{file}': ['get'], '/demo/{file}': ['get'], '/sdk/{file}': ['get'] };

const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The caller's `x-request-id` when it is sane, a fresh one otherwise; echoed in the response. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', id);
    next();
  };
}

/**
 * A body that is not declared JSON is refused with 400 rather than silently ignored (which would
 * run a command without the caller's expected_version). 400, not 415: the error codes have no 415.
 */
export function jsonBodiesOnly(): RequestHandler {
  return (req, _res, next) => {
    const length = req.headers['content-length'];
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (hasBody && !req.is('application/json')) {
      next(
        new SyncKairosError(
          'VALIDATION_ERROR',
          'The request body must be JSON (Content-Type: application/json)',
          {
            issues: [
              { path: '', message: `content type '${req.headers['content-type'] ?? 'none'}' is not JSON` },
            ],
          },
        ),
      );
      return;
    }
    next();
  };
}

export function createApp(deps: AppDeps): Application {
  const app = express();
  app.disable('x-powered-by');
  // Every state carries a fresh server_time, so ETags would only cost a hash per response.
  app.set('etag', false);
  if (deps.trustProxyHops !== undefined && deps.trustProxyHops > 0)
    app.set('trust proxy', deps.trustProxyHops);
  const verifier = deps.tokenVerifier ?? createTokenVerifier({ secret: null, publicKey: null });

  const document = buildOpenApiDocument({
    bodyLimitBytes: deps.bodyLimitBytes,
    rateLimit: deps.rateLimit,
    authEnabled: verifier.enabled,
  });

  app.use(requestId());
  app.use(securityHeaders());
  const cors = corsFor(deps.corsOrigins ?? []);
  if (cors !== null) app.use(['/v1', '/openapi.json'], cors);
  app.use(methodNotAllowed({ ...documentedMethods(document), ...PAGE_FILES }));
  app.use(
    healthRouter({ store: deps.store, metrics: deps.metrics, readinessTimeoutMs: deps.readinessTimeoutMs }),
  );
  app.use(docsRouter({ document }));
  // Before the body is read: a flood is turned away without parsing it.
  const limiter = deps.rateLimit && createRateLimiter({ ...deps.rateLimit, logger: deps.logger });
  if (limiter) app.use('/v1/sessions', limiter);
  app.use(jsonBodiesOnly());
  app.use(express.json({ limit: deps.bodyLimitBytes, strict: true, type: 'application/json' }));
  app.use('/v1/time', timeRouter({ engine: deps.engine }));
  app.use(
    '/v1/sessions',
    authenticate(verifier),
    eventsRouter({ auditStore: deps.auditStore }),
    sessionsRouter({ engine: deps.engine, metrics: deps.metrics }),
  );
  app.use(sdkRouter({ logger: deps.logger }));
  app.use(demoRouter({ logger: deps.logger }));
  app.use(notFoundHandler());
  app.use(errorHandler({ logger: deps.logger, metrics: deps.metrics }));
  return app;
}
