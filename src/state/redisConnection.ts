import { Redis } from 'ioredis';
import { SyncKairosError } from '../types/errors.js';

export interface RedisConnectionOptions {
  /** Shown in `CLIENT LIST`, so an operator can tell our connections apart. */
  connectionName?: string;
  /** Called with every connection error; without a listener ioredis would log them itself. */
  onError?: (err: Error) => void;
}

/**
 * How long one Redis call may take, counted from when our code issues it. ioredis's own
 * `commandTimeout` starts only when it writes the command, and with auto-pipelining a command
 * first waits behind the pipeline in flight: under a hung Redis a REST switch took three
 * timeouts. Callers race their calls against this bound instead (`withinCallTimeout`).
 */
export const REDIS_CALL_TIMEOUT_MS = 1000;
/**
 * ioredis's own timeout, a backstop for calls nobody races (clock sync, pub/sub): it frees the
 * pipeline a hang holds. Longer than the audit relay's blocking read (1 s), which it also covers.
 */
const COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 2000;
const MAX_RECONNECT_DELAY_MS = 1000;

/** Reconnect forever: 50 ms, 100 ms, … capped at 1 s, so Redis coming back is noticed quickly. */
function reconnectDelayMs(attempt: number): number {
  return Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS);
}

/**
 * A connection that fails fast and loud and recovers by itself: while Redis is away every
 * command rejects at once (no offline queue) or after the command timeout, never hangs.
 * Created unconnected; call `connectRedis` (or send a command) to connect.
 */
export function createRedisConnection(url: string, options: RedisConnectionOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelayMs,
    // Commands issued in one tick go out in one write: under load the per-command write
    // syscall, not Redis, was the top cost (BENCHMARKS.md).
    enableAutoPipelining: true,
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  });
  // An 'error' listener keeps an unreachable Redis from being reported as an unhandled error.
  redis.on('error', (err: Error) => options.onError?.(err));
  return redis;
}

/** A call that got no answer within its bound; what Redis does with it later is not known here. */
class RedisCallTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
    this.name = 'RedisCallTimeoutError';
  }
}

/**
 * Settles like `call`, or rejects with RedisCallTimeoutError `timeoutMs` after this function
 * was called, whichever comes first. The call itself is not withdrawn (Redis may still run it).
 */
export function withinCallTimeout<T>(call: Promise<T>, timeoutMs = REDIS_CALL_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisCallTimeoutError(timeoutMs)), timeoutMs);
  });
  // The abandoned call's late rejection is nobody's business any more.
  call.catch(() => {});
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

/** host:port only, never the password in the URL. */
function describe(redis: Redis): string {
  return `${redis.options.host ?? 'localhost'}:${redis.options.port ?? 6379}`;
}

/**
 * Connects and waits until the connection is ready, or rejects with STORE_UNAVAILABLE after
 * `timeoutMs`. The connection keeps retrying either way; its owner decides whether to quit it.
 */
export async function connectRedis(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      // Startup's error, for the operator: it names the host (never the password).
      const message = `Redis at ${describe(redis)} was not ready within ${timeoutMs} ms`;
      reject(new SyncKairosError('STORE_UNAVAILABLE', message, { store: 'redis' }));
    }, timeoutMs);
    redis.once('ready', onReady);
    // connect() rejects on the first failed attempt although the retry strategy goes on;
    // 'ready' (or the timeout) is what decides.
    if (redis.status === 'wait' || redis.status === 'end') redis.connect().catch(() => {});
  });
}
