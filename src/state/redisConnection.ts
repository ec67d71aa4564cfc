import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { SyncKairosError } from '../types/errors.js';

/** A single Redis, or any nodes of a Redis Cluster (ioredis discovers the rest). */
export type RedisClient = Redis | Cluster;

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** Where the deployment's Redis is: a URL (one Redis) or seed nodes (Redis Cluster). */
export type RedisTarget = { url: string } | { clusterNodes: readonly RedisNodeAddress[] };

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

/** Per-connection options shared by a single Redis and every node of a cluster. */
function failFastOptions(options: RedisConnectionOptions): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelayMs,
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
  };
}

/**
 * A connection that fails fast and loud and recovers by itself: while Redis is away every
 * command rejects at once (no offline queue) or after the command timeout, never hangs.
 * Created unconnected; call `connectRedis` (or send a command) to connect.
 */
export function createRedisConnection(url: string, options: RedisConnectionOptions = {}): Redis {
  const redis = new Redis(url, {
    ...failFastOptions(options),
    // Commands issued in one tick go out in one write: under load the per-command write
    // syscall, not Redis, was the top cost (BENCHMARKS.md).
    enableAutoPipelining: true,
  });
  // An 'error' listener keeps an unreachable Redis from being reported as an unhandled error.
  redis.on('error', (err: Error) => options.onError?.(err));
  return redis;
}

export interface RedisClientOptions extends RedisConnectionOptions {
  /**
   * Cluster only: SSUBSCRIBE through one subscriber connection per master, which ioredis moves
   * and resubscribes after slot moves and failovers (the bus's connection sets this).
   */
  shardedSubscribers?: boolean;
}

/**
 * The fail-fast connection of `createRedisConnection`, to one Redis or to a Redis Cluster: the
 * same options on every node, commands routed by slot, the slot map refreshed when a master
 * fails over (MOVED, or a node's connection lost).
 */
export function createRedisClient(target: RedisTarget, options: RedisClientOptions = {}): RedisClient {
  if ('url' in target) return createRedisConnection(target.url, options);
  const clusterOptions: ClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    clusterRetryStrategy: reconnectDelayMs,
    // During a failover a slot answers CLUSTERDOWN until the replica takes over; the command
    // fails, its caller answers 503, and the slot map is refreshed for the next one.
    retryDelayOnClusterDown: 100,
    retryDelayOnFailover: 100,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    shardedSubscribers: options.shardedSubscribers ?? false,
    redisOptions: failFastOptions(options),
  };
  const cluster = new Cluster(
    target.clusterNodes.map(({ host, port }) => ({ host, port })),
    clusterOptions,
  );
  cluster.on('error', (err: Error) => options.onError?.(err));
  return cluster;
}

/** host:port of a URL or of the cluster's seed nodes, never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  if ('clusterNodes' in target) {
    return `cluster ${target.clusterNodes.map(({ host, port }) => `${host}:${port}`).join(',')}`;
  }
  const parsed = new URL(target.url);
  return `${parsed.hostname}:${parsed.port || '6379'}`;
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
function describe(redis: RedisClient): string {
  if (redis instanceof Cluster) return 'the Redis Cluster';
  return `${redis.options.host ?? 'localhost'}:${redis.options.port ?? 6379}`;
}

/**
 * Connects and waits until the connection is ready, or rejects with STORE_UNAVAILABLE after
 * `timeoutMs`. The connection keeps retrying either way; its owner decides whether to quit it.
 */
export async function connectRedis(redis: RedisClient, timeoutMs = 5000): Promise<void> {
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
