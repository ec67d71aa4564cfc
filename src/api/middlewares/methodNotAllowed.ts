// A known path asked with a method it does not serve gets 405 METHOD_NOT_ALLOWED and an Allow
// header, in the error shape: not a 404 as if the path did not exist. Runs before the rate
// limiter and the body; CORS preflights are answered before this runs.
import type { onRequestHookHandler } from 'fastify';
import { SyncKairosError } from '../../types/errors.js';
import { pathOf } from './paths.js';

interface KnownPath {
  pattern: RegExp;
  methods: ReadonlySet<string>;
  allow: string;
}

/** `/v1/sessions/{id}` → matches `/v1/sessions/abc` and `/v1/sessions/abc/` (as the router does), any case. */
function pathPattern(template: string): RegExp {
  const source = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${source.replace(/\/$/, '')}/?$`, 'i');
}

/**
 * `paths`: each path (OpenAPI template) with the methods it serves (`get`, `post`, …). A GET
 * path answers HEAD too, as the router does.
 */
export function methodNotAllowed(paths: Record<string, readonly string[]>): onRequestHookHandler {
  const known: KnownPath[] = Object.entries(paths).map(([template, served]) => {
    const methods = served.map((method) => method.toUpperCase());
    if (methods.includes('GET') && !methods.includes('HEAD'))
      methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
    return { pattern: pathPattern(template), methods: new Set(methods), allow: methods.join(', ') };
  });
  return (req, reply, done) => {
    const path = pathOf(req.url);
    const first = known.find((candidate) => candidate.pattern.test(path));
    if (first === undefined || first.methods.has(req.method)) {
      done();
      return;
    }
    // A path may match more than one template (`/v1/sessions/batch` and `/v1/sessions/{id}`).
    const matches = known.filter((candidate) => candidate.pattern.test(path));
    if (matches.some((match) => match.methods.has(req.method))) {
      done();
      return;
    }
    const allow = [...new Set(matches.flatMap((match) => match.allow.split(', ')))].join(', ');
    reply.header('allow', allow);
    done(new SyncKairosError('METHOD_NOT_ALLOWED', `${req.method} is not allowed here; allowed: ${allow}`));
  };
}
