// Security headers (@fastify/helmet) on every response, and CORS (@fastify/cors) for browsers on
// other origins, from CORS_ORIGINS. The CSP allows what the docs page needs: scripts and styles
// from this origin only.
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pathOf } from './paths.js';

export async function securityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        // Plain HTTP is a legitimate deployment (TLS ends at a proxy, or a laptop); upgrading
        // subresources to https there would break the docs page.
        upgradeInsecureRequests: null,
      },
    },
  });
}

/** Headers a browser script may read: the request id, where a session was created, the limits. */
const EXPOSED_HEADERS = ['x-request-id', 'location', 'ratelimit', 'ratelimit-policy', 'retry-after'];

/** The REST API and its document; the pages, health and metrics are same-origin only. */
const CORS_PATH = /^\/(v1(\/|$)|openapi\.json$)/i;

/**
 * CORS for the REST API; nothing when `origins` is empty (same-origin only, no CORS headers at
 * all). Bearer tokens, not cookies, so credentials are never allowed.
 */
export async function cors(app: FastifyInstance, origins: readonly string[] | '*'): Promise<void> {
  if (origins !== '*' && origins.length === 0) return;
  const options: FastifyCorsOptions = {
    origin: origins === '*' ? '*' : [...origins],
    methods: 'GET,POST,DELETE',
    allowedHeaders: 'authorization,content-type,x-request-id',
    exposedHeaders: EXPOSED_HEADERS.join(','),
    maxAge: 600,
    strictPreflight: false,
  };
  const none: FastifyCorsOptions = { origin: false };
  await app.register(fastifyCors, {
    // An OPTIONS that names no method to come is not a preflight: it is answered as any other
    // method the path does not serve.
    delegator: (req: FastifyRequest, done) => {
      const preflightless =
        req.method === 'OPTIONS' && req.headers['access-control-request-method'] === undefined;
      done(null, preflightless || !CORS_PATH.test(pathOf(req.url)) ? none : options);
    },
  });
}
