// Requests per client address on /v1/sessions. Counts live in Redis in distributed mode, so the
// limit holds across instances (added in batches: batchedRedisStore.ts), and in memory in
// embedded mode. A store that fails lets the request through: a Redis outage must not take the
// API down through its limiter (fail open).
import type { RequestHandler } from 'express';
import { rateLimit, type Logger as LimiterLogger, type Store } from 'express-rate-limit';
import type { Logger } from '../../monitoring/logger.js';
import { stateKeys } from '../../state/keys.js';
import type { RedisClient } from '../../state/redisConnection.js';
import { SyncKairosError } from '../../types/errors.js';
import { BatchedRedisStore } from './batchedRedisStore.js';

/** Under the state's key prefix: `sk:rl:<address>` (keys.ts). */
export const RATE_LIMIT_KEY_PREFIX = stateKeys().rateLimitPrefix;
/** One log line per this interval while the store fails, not one per request. */
const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

export interface RateLimitOptions {
  windowMs: number;
  /** Requests per window per client address; 0 turns the limiter off. */
  max: number;
  /** Where the counts live; in this process's memory when absent. */
  store?: Store;
  logger: Logger;
}

/**
 * Counts in Redis over an existing connection, under `prefix`, in batches (BatchedRedisStore):
 * no Redis round trip per request until a client nears its limit. A hung Redis holds such a
 * request for one call timeout at most, then the limiter lets it through.
 */
export function redisRateLimitStore(redis: RedisClient, prefix: string = RATE_LIMIT_KEY_PREFIX): Store {
  return new BatchedRedisStore(redis, prefix);
}

/** express-rate-limit's logger on ours; store errors are throttled, the limiter passes the request. */
function limiterLogger(logger: Logger): LimiterLogger {
  let lastStoreErrorAtMs = 0;
  let suppressed = 0;
  return {
    error(err, message) {
      const nowMs = Date.now();
      if (nowMs - lastStoreErrorAtMs < STORE_ERROR_LOG_INTERVAL_MS) {
        suppressed++;
        return;
      }
      lastStoreErrorAtMs = nowMs;
      logger.warn(
        { err, suppressed },
        `rate limiter: ${message ?? 'store error'} (requests pass unlimited while the store fails)`,
      );
      suppressed = 0;
    },
    warn(err, message) {
      logger.warn({ err }, `rate limiter: ${message ?? 'configuration warning'}`);
    },
  };
}

/** The limiter middleware, or null when `max` is 0. */
export function createRateLimiter(options: RateLimitOptions): RequestHandler | null {
  if (options.max === 0) return null;
  const windowS = Math.ceil(options.windowMs / 1000);
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.max,
    // IETF draft 8: `RateLimit: "sessions"; r=<left>; t=<s>` and `RateLimit-Policy`; Retry-After on 429.
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: 'sessions',
    passOnStoreError: true,
    logger: limiterLogger(options.logger),
    ...(options.store === undefined ? {} : { store: options.store }),
    handler(_req, res, next) {
      // The library has set Retry-After from the window's reset time; the body says the same.
      const retryAfterS = Number(res.getHeader('retry-after') ?? windowS);
      next(
        new SyncKairosError(
          'RATE_LIMITED',
          `Too many requests from this address: at most ${options.max} per ${windowS} s. Retry after ${retryAfterS} s.`,
          { retry_after_s: retryAfterS },
        ),
      );
    },
  });
}
