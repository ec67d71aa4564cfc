// Requests per client address on /v1/sessions, through @fastify/rate-limit. Counts live in Redis
// in distributed mode, so the limit holds across instances (added in batches:
// batchedRedisStore.ts), and in memory in embedded mode. A store that fails lets the request
// through: a Redis outage must not take the API down through its limiter (fail open).
// The plugin's limiter is called from our own hook rather than installed on the routes because
// the plugin writes only the older RateLimit-Limit/-Remaining headers; ours are the IETF draft 8
// `RateLimit` and `RateLimit-Policy`, and they also cover paths under /v1/sessions that no route serves.
import { createHash } from 'node:crypto';
import fastifyRateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../monitoring/logger.js';
import { stateKeys } from '../../state/keys.js';
import type { RedisClient } from '../../state/redisConnection.js';
import { SyncKairosError } from '../../types/errors.js';
import { BatchedRedisStore } from './batchedRedisStore.js';
import { pathOf } from './paths.js';

/** Under the state's key prefix: `sk:rl:<address>` (keys.ts). */
export const RATE_LIMIT_KEY_PREFIX = stateKeys().rateLimitPrefix;
/** One log line per this interval while the store fails, not one per request. */
const STORE_ERROR_LOG_INTERVAL_MS = 10_000;
/** The name the limit goes by in its headers. */
const POLICY_NAME = 'sessions';

export type RateLimitStore = FastifyRateLimitStoreCtor;

export interface RateLimitOptions {
  windowMs: number;
  /** Requests per window per client address; 0 turns the limiter off. */
  max: number;
  /** Where the counts live; in this process's memory when absent. */
  store?: RateLimitStore;
  logger: Logger;
}

/**
 * Counts in Redis over an existing connection, under `prefix`, in batches (BatchedRedisStore):
 * no Redis round trip per request until a client nears its limit. A hung Redis holds such a
 * request for one call timeout at most, then the limiter lets it through.
 */
export function redisRateLimitStore(
  redis: RedisClient,
  prefix: string = RATE_LIMIT_KEY_PREFIX,
): RateLimitStore {
  return class extends BatchedRedisStore {
    constructor() {
      super(redis, prefix);
    }
  };
}

/** Store errors are logged once per interval with how many were not; the request passes. */
function storeErrorLog(logger: Logger): (err: unknown) => void {
  let lastStoreErrorAtMs = 0;
  let suppressed = 0;
  return (err) => {
    const nowMs = Date.now();
    if (nowMs - lastStoreErrorAtMs < STORE_ERROR_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    lastStoreErrorAtMs = nowMs;
    logger.warn(
      { err, suppressed },
      'rate limiter: store error (requests pass unlimited while the store fails)',
    );
    suppressed = 0;
  };
}

/** The client's partition in the policy header: not its address, a short hash of it. */
function partitionKey(key: string): string {
  return Buffer.from(createHash('sha256').update(key).digest('hex').slice(0, 12)).toString('base64');
}

/** The API a client drives (sessions, webhooks): not clock sync, health or the docs. */
const LIMITED = /^\/v1\/(sessions|webhooks)(\/|$)/i;

/** The limiter on every /v1/sessions and /v1/webhooks path, before the body is read; nothing when `max` is 0. */
export async function rateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  if (options.max === 0) return;
  await app.register(fastifyRateLimit, {
    global: false,
    ...(options.store === undefined ? {} : { store: options.store }),
  });
  // An IPv6 client usually holds a whole /56 or more: counted per /56, as docs/api.md says.
  const limit = app.createRateLimit({ max: options.max, timeWindow: options.windowMs, ipv6Subnet: 56 });
  const windowS = Math.ceil(options.windowMs / 1000);
  const logStoreError = storeErrorLog(options.logger);

  app.addHook('onRequest', async (req, reply) => {
    if (!LIMITED.test(pathOf(req.url))) return;
    let result;
    try {
      result = await limit(req);
    } catch (err) {
      logStoreError(err);
      return;
    }
    if (result.isAllowed) return;
    const resetS = Math.max(0, result.ttlInSeconds);
    reply.header('ratelimit', `"${POLICY_NAME}"; r=${result.remaining}; t=${resetS}`);
    reply.header(
      'ratelimit-policy',
      `"${POLICY_NAME}"; q=${options.max}; w=${windowS}; pk=:${partitionKey(result.key)}:`,
    );
    if (!result.isExceeded) return;
    reply.header('retry-after', String(resetS));
    throw new SyncKairosError(
      'RATE_LIMITED',
      `Too many requests from this address: at most ${options.max} per ${windowS} s. Retry after ${resetS} s.`,
      { retry_after_s: resetS },
    );
  });
}
