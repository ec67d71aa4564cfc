// The layers of the switch paths: as bench/httpStacks.ts stacks them for REST (a stack of depth n
// has the first n, in the order a request meets them), and as a CPU profile tells them apart.
import type { LayerRule } from '../profileSummary.js';

export const LAYERS = [
  'framework: routing, the handler answers a fixed view as JSON',
  'request id, helmet and CORS headers',
  'rate limit (Redis store)',
  'JSON body parsing',
  'auth (bearer token, cached)',
  'validation (Zod) and permissions',
  'engine: the switch on Redis, its view serialized',
] as const;

/** Depth LAYERS.length + 1 on Fastify: the service's own createApp, every route and hook. */
export const FULL_APP_DEPTH = LAYERS.length + 1;

const REDIS_CLIENT =
  /node_modules\/(ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback|redis-errors)\//;

/** The REST switch path in a profile of the service, by where each piece of code lives. */
export const HTTP_LAYER_RULES: readonly LayerRule[] = [
  {
    layer: 'helmet and CORS headers',
    test: /node_modules\/(helmet|@fastify\/helmet|@fastify\/cors)\/|src\/api\/middlewares\/security/,
  },
  {
    layer: 'rate limit',
    test: /node_modules\/@fastify\/rate-limit\/|src\/api\/middlewares\/(rateLimit|batchedRedisStore)/,
  },
  {
    layer: 'body parsing',
    test: /node_modules\/fastify\/lib\/content-type-parser|src\/api\/requestBody/,
  },
  {
    layer: 'routing and replies (Fastify, its router)',
    test: /node_modules\/(fastify|find-my-way|avvio|fast-json-stringify|@fastify\/[^/]+|light-my-request)\//,
  },
  {
    layer: 'request id, 405 check',
    test: /src\/api\/(app|middlewares\/methodNotAllowed)\.ts/,
  },
  { layer: 'auth', test: /node_modules\/jose\/|src\/auth\/tokens|src\/api\/middlewares\/authenticate/ },
  {
    layer: 'validation (Zod) and permissions',
    test: /node_modules\/zod\/|src\/schemas\/|src\/auth\/permissions/,
  },
  { layer: 'route handler', test: /src\/api\/routes\// },
  { layer: 'error handler', test: /src\/api\/errorHandler/ },
  { layer: 'engine', test: /src\/engine\// },
  { layer: 'store: the Lua call, the state codec', test: /src\/state\/(?!RedisSessionBus)/ },
  { layer: 'Redis client (ioredis)', test: REDIS_CLIENT },
  { layer: 'deadline scheduler', test: /src\/services\// },
  { layer: 'pub/sub and fan-out', test: /src\/state\/RedisSessionBus|src\/websocket\/|node_modules\/ws\// },
  { layer: 'metrics', test: /node_modules\/(prom-client|tdigest|bintrees)\/|src\/monitoring\// },
  { layer: 'logging', test: /node_modules\/(pino|sonic-boom|thread-stream)\// },
];

/** The WebSocket switch path (SWITCH in, ACK out, STATE to the watchers) in a profile of the service. */
export const WS_LAYER_RULES: readonly LayerRule[] = [
  { layer: 'ws: frames, masks, sends', test: /node_modules\/ws\// },
  {
    layer: 'connection: dispatch, limits, ACK',
    test: /src\/websocket\/(ClientConnection|WebSocketServer|limits)/,
  },
  {
    layer: 'validation (Zod) and permissions',
    test: /node_modules\/zod\/|src\/schemas\/|src\/websocket\/protocol|src\/auth\//,
  },
  { layer: 'engine', test: /src\/engine\// },
  { layer: 'pub/sub bus', test: /src\/state\/RedisSessionBus/ },
  { layer: 'store: the Lua call, the state codec', test: /src\/state\// },
  { layer: 'Redis client (ioredis)', test: REDIS_CLIENT },
  { layer: 'fan-out: decode, view, STATE frame', test: /src\/websocket\/SessionFanout/ },
  { layer: 'deadline scheduler', test: /src\/services\// },
  { layer: 'metrics', test: /node_modules\/(prom-client|tdigest|bintrees)\/|src\/monitoring\// },
  { layer: 'entry point wiring (index.ts callbacks)', test: /src\/index\.ts/ },
  { layer: 'logging', test: /node_modules\/(pino|sonic-boom|thread-stream)\// },
];
