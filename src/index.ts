// The entry point: reads the configuration, picks the mode, wires the parts and owns their lifecycle.
import { realpathSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './api/app.js';
import { createHttpServer } from './api/httpServer.js';
import { redisRateLimitStore, type RateLimitStore } from './api/middlewares/rateLimit.js';
import {
  DistributedAuditService,
  EmbeddedAuditService,
  type AuditService,
  type OnRecorded,
} from './audit/AuditService.js';
import { createTokenVerifier } from './auth/tokens.js';
import { ConfigError, loadConfig, type Config, type RunMode } from './config/config.js';
import { SyncEngine } from './engine/SyncEngine.js';
import type { RenderedView } from './engine/renderedView.js';
import { DeadlineScheduler } from './services/DeadlineScheduler.js';
import { armDisconnectsAfterRestart, startDisconnectPolicy } from './services/disconnectPolicy.js';
import { createLogger, type Logger } from './monitoring/logger.js';
import { createMetrics, type Metrics } from './monitoring/metrics.js';
import { LmdbSessionLog, sessionLogPath } from './state/LmdbSessionLog.js';
import { LostSessionSweep, recoverFromAudit } from './state/restore.js';
import { MemoryPresenceStore } from './state/MemoryPresenceStore.js';
import { MemoryStateStore } from './state/MemoryStateStore.js';
import { RedisClock } from './state/RedisClock.js';
import { RedisPresenceStore } from './state/RedisPresenceStore.js';
import { RedisStateStore } from './state/RedisStateStore.js';
import { stateKeys } from './state/keys.js';
import {
  connectRedis,
  createRedisClient,
  describeRedisTarget,
  type RedisClient,
  type RedisTarget,
} from './state/redisConnection.js';
import { MemorySessionBus } from './state/MemorySessionBus.js';
import { RedisSessionBus } from './state/RedisSessionBus.js';
import { systemClock } from './state/SystemClock.js';
import type { SessionBus } from './types/bus.js';
import { SessionFanout } from './websocket/SessionFanout.js';
import { SyncWebSocketServer } from './websocket/WebSocketServer.js';
import type { Clock } from './types/clock.js';
import type { SessionEventType } from './types/session.js';
import type { PresenceStore } from './types/presence.js';
import type { StateStore } from './types/store.js';
import { SyncKairosError } from './types/errors.js';
import { startWebhooks } from './webhooks/startWebhooks.js';
import type { WebhookService } from './webhooks/WebhookService.js';

/** How long startup waits for Redis before refusing to start. */
const REDIS_CONNECT_TIMEOUT_MS = 5000;
/** Open requests get this long to finish on shutdown before their connections are cut. */
const DRAIN_TIMEOUT_MS = 5000;
/** The process exits within this bound of SIGTERM/SIGINT, whatever hangs. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** Stamped at the deadline (or crossing), not at their commit: their delivery lag would count the scheduler's lateness. */
const EXPIRY_EVENTS: ReadonlySet<SessionEventType> = new Set([
  'expired',
  'participant_expired',
  'cycle_advanced',
  'phase_changed',
  'overtime',
]);

export interface RunningServer {
  url: string;
  port: number;
  mode: RunMode;
  /** Webhook endpoints and push devices; null when the audit trail (their database) is off. */
  webhooks: WebhookService | null;
  /** Stops accepting, drains, closes the stores and the clock. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
}

/** Startup refused for a reason the operator can fix (Redis unreachable). */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

interface StateBackend {
  store: StateStore;
  clock: Clock;
  bus: SessionBus;
  /** Who is connected, for the disconnect policy. */
  presence: PresenceStore;
  /** Embedded mode: nobody is connected after a restart, so running sessions with the policy are re-armed. */
  memoryStore?: MemoryStateStore;
  /** Rate-limit counts shared by every instance; absent: each process counts in memory. */
  rateLimitStore?: RateLimitStore;
  close(): Promise<void>;
}

/** REDIS_CLUSTER_NODES or REDIS_URL; null: embedded mode. */
export function redisTarget(config: Config): RedisTarget | null {
  if (config.redisClusterNodes !== null) return { clusterNodes: config.redisClusterNodes };
  if (config.redisUrl !== null) return { url: config.redisUrl };
  return null;
}

async function openEmbeddedBackend(
  audit: EmbeddedAuditService,
  dataDir: string,
  logger: Logger,
): Promise<StateBackend> {
  const bus = new MemorySessionBus();
  const loadStartedMs = performance.now();
  const log = await LmdbSessionLog.open(dataDir).catch((err: unknown) => {
    throw new StartupError(
      `The session store in ${dataDir} (DATA_DIR) could not open: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  });
  const replayed = audit.attachOutbox(log);
  if (replayed > 0)
    logger.info({ records: replayed }, `audit records from the outbox queued again: ${replayed}`);
  const store = new MemoryStateStore({ publish: bus.publish, appendAudit: audit.appendAudit, log });
  logger.info(
    { sessions: store.restoredCount, durationMs: Math.round(performance.now() - loadStartedMs) },
    `restored ${store.restoredCount} sessions from ${sessionLogPath(dataDir)}`,
  );
  const presence = new MemoryPresenceStore();
  return {
    store,
    clock: systemClock,
    bus,
    presence,
    memoryStore: store,
    async close() {
      await bus.close();
      await presence.close();
      await store.close();
    },
  };
}

async function openRedisBackend(
  target: RedisTarget,
  logger: Logger,
  metrics: Metrics,
): Promise<StateBackend> {
  const host = describeRedisTarget(target);
  const variable = 'url' in target ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES';
  const redis = createRedisClient(target, {
    connectionName: 'synckairos',
    // ioredis reports every failed reconnect; one line each at warn is enough to see an outage.
    onError: (err) => {
      metrics.redisErrors.inc({ connection: 'commands' });
      logger.warn({ err: err.message, redis: host }, 'redis connection error');
    },
  });
  try {
    await connectRedis(redis, REDIS_CONNECT_TIMEOUT_MS);
  } catch (err) {
    redis.disconnect();
    throw new StartupError(
      `Redis is unreachable at ${host} (${variable}): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  // Pub/sub needs a connection of its own: a subscribed connection can send nothing else.
  const subscriber = createRedisClient(target, {
    connectionName: 'synckairos-subscriber',
    shardedSubscribers: true,
    onError: (err) => {
      metrics.redisErrors.inc({ connection: 'subscriber' });
      logger.warn({ err: err.message, redis: host }, 'redis subscriber connection error');
    },
  });
  const bus = new RedisSessionBus(subscriber, {
    onError: (err) =>
      logger.warn({ err }, 'redis pub/sub error; subscriptions are restored when redis is back'),
  });
  const clock = new RedisClock(redis, {
    onError: (err) => logger.warn({ err }, 'redis clock resync failed; keeping the last offset'),
  });
  // The store dates each write's not-after instant on the Redis-disciplined clock.
  const store = new RedisStateStore(redis, { clock });
  try {
    await connectRedis(subscriber, REDIS_CONNECT_TIMEOUT_MS);
    await clock.start();
  } catch (err) {
    redis.disconnect();
    subscriber.disconnect();
    throw new StartupError(`Redis at ${host} did not answer: ${String(err)}`, { cause: err });
  }
  logger.info(
    { redis: host, clockOffsetMs: clock.offsetMs, clockRoundTripMs: clock.roundTripMs },
    'redis clock synced',
  );
  return {
    store,
    clock,
    bus,
    presence: new RedisPresenceStore(redis),
    rateLimitStore: redisRateLimitStore(redis, store.keys.rateLimitPrefix),
    async close() {
      clock.close();
      await bus.close();
      await store.close();
      await quitRedis(redis);
    },
  };
}

async function quitRedis(redis: RedisClient): Promise<void> {
  try {
    await redis.quit();
  } catch {
    // Already closed or unreachable: nothing left to say goodbye to.
    redis.disconnect();
  }
}

/** The audit trail's own startup failures (a PGlite folder in use, Redis gone) are the operator's to fix. */
async function startAudit<T extends AuditService>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    throw new StartupError(
      `The audit trail could not start: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** A URL a local client can call: the wildcard addresses are not addresses to connect to. */
function localUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    const forceTimer = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
    forceTimer.unref();
    server.close(() => {
      clearTimeout(forceTimer);
      resolve();
    });
    // Keep-alive connections with no request in flight would otherwise hold close() open.
    server.closeIdleConnections();
  });
}

/** Starts the whole service in this process; tests use it as the entry point does. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ logLevel: config.logLevel, nodeEnv: config.nodeEnv });
  const metrics = createMetrics();
  const counters = { onFailed: () => metrics.auditFailures.inc() };
  // Webhooks start after the engine, but the audit pipeline may hand on records before that:
  // they wait for it (null: webhooks never started, the records are not theirs to send).
  let webhooksStarted!: (service: WebhookService | null) => void;
  const webhooksReady = new Promise<WebhookService | null>((resolve) => {
    webhooksStarted = resolve;
  });
  const onRecorded: OnRecorded = async (events) => {
    await (await webhooksReady)?.feed(events);
  };
  let audit: AuditService | null = null;
  let backend: StateBackend;
  const target = redisTarget(config);
  if (target === null) {
    const embeddedAudit = await startAudit(() =>
      EmbeddedAuditService.start({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        logger,
        counters,
        onRecorded,
      }),
    );
    audit = embeddedAudit;
    backend = await openEmbeddedBackend(embeddedAudit, config.dataDir, logger).catch(async (err: unknown) => {
      webhooksStarted(null);
      await embeddedAudit.close();
      throw err;
    });
  } else {
    backend = await openRedisBackend(target, logger, metrics);
    if (config.databaseUrl !== null) {
      const { databaseUrl } = config;
      audit = await startAudit(() =>
        DistributedAuditService.start({
          databaseUrl,
          dataDir: config.dataDir,
          redis: target,
          keys: stateKeys(),
          logger,
          counters,
          onRecorded,
        }),
      ).catch(async (err: unknown) => {
        await backend.close();
        throw err;
      });
    }
  }
  if (audit === null) {
    webhooksStarted(null);
    logger.warn(
      'AUDIT TRAIL IS OFF: distributed mode without DATABASE_URL records no history. Set DATABASE_URL to keep one.',
    );
  } else {
    const service = audit;
    metrics.gauges.auditStatus = () => service.status();
    logger.info({ audit: service.store.name }, `audit trail: ${service.store.name}`);
  }
  if (target === null) {
    logger.info(
      { mode: 'embedded', store: backend.store.name },
      'mode: embedded (in-process store kept in DATA_DIR, no Redis)',
    );
  } else {
    const redis = describeRedisTarget(target);
    logger.info(
      { mode: 'distributed', store: backend.store.name, redis },
      `mode: distributed (Redis at ${redis})`,
    );
  }

  const tokenVerifier = createTokenVerifier({
    secret: config.jwtSecret,
    publicKey: config.jwtPublicKey,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
  });
  if (!tokenVerifier.enabled) {
    logger.warn(
      'AUTH IS OFF: no JWT_SECRET or JWT_PUBLIC_KEY is set, so every caller is an admin. Set one before exposing this service.',
    );
  }
  // Commands commit only once the server listens, after the fan-out below exists.
  let noteCommitToWatchers: (rendered: RenderedView) => void = () => {};
  // The engine tells the scheduler of every deadline it writes, so no poll is waited for.
  const engine: SyncEngine = new SyncEngine({
    store: backend.store,
    clock: backend.clock,
    sessionTtlMs: config.sessionTtlSeconds * 1000,
    recordAudit: audit !== null,
    maxIdleMs: config.sessionMaxIdleMs,
    onCommit: (commit) => {
      scheduler.note(commit.state.sessionId, commit.removed ? null : engine.deadlineOf(commit.state));
      if (commit.rendered !== undefined) noteCommitToWatchers(commit.rendered);
    },
    // Distributed mode only: DATA_DIR keeps every embedded session, Redis may lose them.
    ...(target !== null && audit !== null ? { recover: recoverFromAudit(audit.store, logger) } : {}),
  });
  const scheduler = new DeadlineScheduler({
    engine,
    store: backend.store,
    clock: backend.clock,
    logger,
    onExpired: (events) => {
      for (const event of events) metrics.expiries.inc({ event: event.type });
    },
  });
  metrics.gauges.schedulerDeadlines = () => scheduler.deadlinesHeld;
  scheduler.start();
  const disconnectPolicy = startDisconnectPolicy({
    engine,
    presence: backend.presence,
    clock: backend.clock,
    logger,
  });
  if (backend.memoryStore !== undefined) {
    const armed = await armDisconnectsAfterRestart(
      backend.memoryStore,
      backend.presence,
      disconnectPolicy.tracker.instanceId,
      backend.clock.nowMs(),
    );
    if (armed > 0)
      logger.info(
        { participants: armed },
        'disconnect policy: participants of running sessions count as gone until they reconnect',
      );
  }
  const lostSessionSweep =
    target !== null && audit !== null
      ? new LostSessionSweep({
          engine,
          audit: audit.store,
          clock: backend.clock,
          logger,
          maxIdleMs: config.sessionMaxIdleMs,
        })
      : null;
  lostSessionSweep?.start();
  let webhooks: WebhookService | null = null;
  if (audit !== null) {
    webhooks = await startWebhooks({
      sql: audit.store.sql,
      ready: audit.ready,
      queue:
        target === null
          ? { kind: 'embedded', dataDir: config.dataDir }
          : { kind: 'distributed', redis: target, bullPrefix: stateKeys().bullPrefix },
      retryScheduleMs: config.webhooks.retryScheduleMs,
      allowPrivate: config.webhooks.allowPrivate,
      deliver: config.webhooks.deliver,
      // Distributed: off this event loop, in a thread at WEBHOOK_WORKER_NICE.
      ...(config.databaseUrl === null
        ? {}
        : {
            deliveryThread: {
              databaseUrl: config.databaseUrl,
              nice: config.webhooks.workerNice,
              logLevel: config.logLevel,
              nodeEnv: config.nodeEnv,
            },
          }),
      fcmServiceAccount: config.fcmServiceAccount,
      sessionExists: (sessionId) => sessionExists(engine, sessionId),
      logger,
      metrics,
    }).catch(async (err: unknown) => {
      webhooksStarted(null);
      await lostSessionSweep?.close();
      await disconnectPolicy.close();
      await scheduler.close();
      await audit?.close();
      await backend.close();
      throw new StartupError(
        `Webhooks could not start: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    });
  }
  webhooksStarted(webhooks);
  const app = createApp({
    engine,
    store: backend.store,
    logger,
    metrics,
    bodyLimitBytes: config.bodyLimitBytes,
    tokenVerifier,
    rateLimit: { ...config.rateLimit, store: backend.rateLimitStore },
    corsOrigins: config.corsOrigins,
    trustProxyHops: config.trustProxyHops,
    ...(audit === null ? {} : { auditStore: audit.store }),
    webhooks,
  });

  /** What is open before the port: closed again when the start fails. */
  const closeBeforeListening = async (): Promise<void> => {
    await lostSessionSweep?.close();
    await disconnectPolicy.close();
    await scheduler.close();
    await webhooks?.close();
    await audit?.close();
    await backend.close();
  };
  // Every route and plugin in place before the port opens: a broken plugin fails the start.
  try {
    await app.fastify.ready();
  } catch (err) {
    await closeBeforeListening();
    throw new StartupError(`The HTTP app could not start: ${String(err)}`, { cause: err });
  }
  const server = createHttpServer(app, config.http);
  let draining = false;
  // Once shutdown begins every response closes its connection: a keep-alive client moves on
  // after its current request instead of holding the drain open until it is cut mid-request.
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (draining) res.setHeader('connection', 'close');
  });
  const fanout = new SessionFanout({
    bus: backend.bus,
    clock: backend.clock,
    readSession: (sessionId) => engine.getSession(sessionId),
    onPublishedState: (state) => {
      engine.noteState(state);
      scheduler.note(state.sessionId, engine.deadlineOf(state));
    },
    onError: (err, context) => logger.warn({ err }, context),
    // A command's updated_at is its server time (the shared clock in distributed mode), so this is
    // commit → frame handed to every watcher here, whichever instance committed it.
    onDelivered: (state) => {
      if (EXPIRY_EVENTS.has(state.lastEvent)) return;
      metrics.deliveryLag.observe(Math.max(0, backend.clock.nowMs() - state.updatedAtMs) / 1000);
    },
  });
  noteCommitToWatchers = (rendered) => fanout.noteCommit(rendered);
  const websocket = new SyncWebSocketServer({
    server,
    engine,
    fanout,
    tokenVerifier,
    limits: config.websocket,
    trustProxyHops: config.trustProxyHops,
    onError: (err, context) => logger.debug({ err }, context),
    onCommand: (command, durationMs) => metrics.commandDuration.observe({ command }, durationMs / 1000),
    presence: disconnectPolicy.tracker,
  });
  metrics.gauges.websocketConnections = () => websocket.connectionCount;
  metrics.gauges.watchedSessions = () => fanout.sessionCount;
  let port: number;
  try {
    port = await listen(server, config.port, config.host);
  } catch (err) {
    await closeBeforeListening();
    throw new StartupError(`Cannot listen on ${config.host}:${config.port} (HOST/PORT): ${String(err)}`, {
      cause: err,
    });
  }
  const url = localUrl(config.host, port);
  logger.info({ port, host: config.host, url, mode: config.mode }, `listening on ${config.host}:${port}`);

  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    mode: config.mode,
    webhooks,
    close() {
      closing ??= (async () => {
        draining = true;
        await websocket.close();
        await closeServer(server);
        await lostSessionSweep?.close();
        // After the connections closed: their leases are released before the store goes.
        await disconnectPolicy.close();
        await scheduler.close();
        // After the last write (the scheduler's), before the store: the embedded writer drains.
        await audit?.close();
        // After the audit trail, which hands it its last records; what is queued stays queued.
        await webhooks?.close();
        await backend.close();
        logger.info('closed');
      })();
      return closing;
    },
  };
}

/** Whether the session exists now: a webhook's session filter must name one. */
async function sessionExists(engine: SyncEngine, sessionId: string): Promise<boolean> {
  try {
    await engine.getSession(sessionId);
    return true;
  } catch (err) {
    if (err instanceof SyncKairosError && err.code === 'SESSION_NOT_FOUND') return false;
    throw err;
  }
}

/**
 * A process's life: the configuration (exits 1 on a bad one), `start`, then `close` on SIGTERM or
 * SIGINT within SHUTDOWN_TIMEOUT_MS. The service and the webhook worker both run through it.
 */
export async function runUntilSignalled(
  start: (config: Config, logger: Logger) => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ logLevel: config.logLevel, nodeEnv: config.nodeEnv });

  let running: { close(): Promise<void> };
  try {
    running = await start(config, logger);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.fatal({ err }, `startup failed: ${message}`);
    // stderr as well: the log may go to a pipe nobody reads while the process is dying.
    process.stderr.write(`Startup failed: ${message}\n`);
    process.exit(1);
  }

  let shuttingDown = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      logger.error(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    hardStop.unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** True when the module at `moduleUrl` is the script node was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(path.resolve(entry)) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

if (isEntryPoint(import.meta.url))
  void runUntilSignalled((config, logger) => startServer(config, { logger }));
