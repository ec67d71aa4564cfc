// Security headers (helmet) on every response, and CORS for browsers on other origins, from
// CORS_ORIGINS. The CSP allows what the docs page needs: scripts and styles from this origin only.
import cors from 'cors';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export function securityHeaders(): RequestHandler {
  return helmet({
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

/**
 * CORS for the REST API, or null for same-origin only (no CORS headers at all). Bearer tokens,
 * not cookies, so credentials are never allowed.
 */
export function corsFor(origins: readonly string[] | '*'): RequestHandler | null {
  if (origins !== '*' && origins.length === 0) return null;
  const handler = cors({
    origin: origins === '*' ? '*' : [...origins],
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
  // `cors` takes every OPTIONS for a preflight; one that names no method to come is not, and is
  // answered as any other method the path does not serve.
  return (req, res, next) => {
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] === undefined) next();
    else handler(req, res, next);
  };
}
