// The layers of the REST switch path as bench/httpStacks.ts stacks them, in the order a request
// meets them; a stack of depth n has the first n.
export const LAYERS = [
  'framework: routing, the handler answers a fixed view as JSON',
  'request id, helmet and CORS headers',
  'rate limit (Redis store)',
  'JSON body parsing',
  'auth (bearer token, cached)',
  'validation (Zod) and permissions',
  'engine: the switch on Redis, its view serialized',
] as const;

/** Depth LAYERS.length + 1 on Express: the service's own createApp, every route and middleware. */
export const FULL_APP_DEPTH = LAYERS.length + 1;
