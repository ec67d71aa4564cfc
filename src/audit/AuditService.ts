// The audit trail as the instance runs it. Embedded mode: records go from the memory store
// straight to an in-process writer (PGlite in DATA_DIR, or PostgreSQL). Distributed mode:
// the state scripts append records to a Redis stream, a relay moves them into a BullMQ
// queue, and a worker writes them to PostgreSQL. Either way PostgreSQL is never awaited on
// a request, and its migrations run in the background until it answers, so an audit
// outage at startup delays the trail instead of keeping the service down.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Cluster, Redis } from 'ioredis';
import type { Logger } from '../monitoring/logger.js';
import type { StateKeys } from '../state/keys.js';
import type { AuditOutbox } from '../state/LmdbSessionLog.js';
import type { SessionEvent } from '../types/session.js';
import {
  connectRedis,
  createRedisClient,
  type RedisClient,
  type RedisTarget,
} from '../state/redisConnection.js';
import { AuditRelay } from './AuditRelay.js';
import { AuditStore } from './AuditStore.js';
import { AuditQueue, AuditWorker } from './DBWriteQueue.js';
import { EmbeddedAuditWriter, type AuditSink } from './EmbeddedAuditWriter.js';
import { pgliteClient, pgliteDataDir, postgresClient } from './sqlClient.js';

const MIGRATE_RETRY_MS = 2_000;

export interface AuditCounters {
  /** A record failed for good (all attempts spent, or refused as data: no retry could write it). */
  onFailed(): void;
}

/**
 * Told of records once they are durably accepted (embedded: written to the audit store;
 * distributed: in the audit queue), in order per session; may be told twice of one. Webhooks
 * hang here. Distributed: a rejection leaves the records in the stream and the relay retries.
 */
export type OnRecorded = (events: readonly SessionEvent[]) => Promise<void>;

export interface AuditServiceOptions {
  databaseUrl: string | null;
  dataDir: string;
  logger: Logger;
  counters?: AuditCounters;
  onRecorded?: OnRecorded;
}

export interface AuditStatus {
  /** Records written, waiting or being written, and failed for good (kept for a person). */
  backlog: number;
  failed: number;
}

export abstract class AuditService {
  /** Where GET /v1/sessions/:id/events reads. (With the trail off there is no service at all.) */
  abstract readonly store: AuditStore;
  /** Resolves true once the schema is current (false: closed before the database answered). */
  abstract readonly ready: Promise<boolean>;
  abstract status(): Promise<AuditStatus>;
  abstract close(): Promise<void>;
}

/** Runs `store.migrate()` until it succeeds or `isClosed()`; resolves true once migrated. */
async function migrateWhenReachable(
  store: AuditStore,
  logger: Logger,
  isClosed: () => boolean,
): Promise<boolean> {
  for (let attempt = 1; !isClosed(); attempt++) {
    try {
      const applied = await store.migrate();
      logger.info({ store: store.name, applied }, 'audit store ready');
      return true;
    } catch (err) {
      if (attempt === 1)
        logger.error({ err }, `audit store unreachable; retrying every ${MIGRATE_RETRY_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, MIGRATE_RETRY_MS));
    }
  }
  return false;
}

/**
 * Embedded mode: the memory store hands its records to `appendAudit`. With an outbox attached
 * (the session log, which keeps each change's records in the change's own transaction), a record
 * leaves the outbox only once it is written and handed on to webhooks; startup replays the rest.
 */
export class EmbeddedAuditService extends AuditService {
  readonly store: AuditStore;
  private readonly writer: EmbeddedAuditWriter;
  /** Records that arrived before the schema was ready. */
  private pending: string[] | null = [];
  private closed = false;
  private outbox: AuditOutbox | null = null;
  readonly ready: Promise<boolean>;

  private constructor(store: AuditStore, options: AuditServiceOptions) {
    super();
    this.store = store;
    const { onRecorded, logger } = options;
    const sink: AuditSink = {
      write: async (events, records) => {
        const written = await store.write(events);
        try {
          await onRecorded?.(events);
        } catch (err) {
          // The records are written, so no retry now; kept in the outbox, the next start hands them on again.
          logger.error({ err }, 'audit records written but not handed on to webhooks');
          return written;
        }
        this.outbox?.ack(records);
        return written;
      },
    };
    this.writer = new EmbeddedAuditWriter(sink, {
      logger: options.logger,
      onFailed: (record) => {
        // No retry can write it: replaying it at every start would not either.
        this.outbox?.ack([record]);
        options.counters?.onFailed();
      },
    });
    this.ready = migrateWhenReachable(store, options.logger, () => this.closed).then((migrated) => {
      const pending = this.pending ?? [];
      this.pending = null;
      if (migrated && pending.length > 0) this.writer.append(pending);
      return migrated;
    });
  }

  /**
   * Makes the hand-off durable: queues what the outbox still holds (a previous run's records not
   * yet written), then acknowledges each record once handed on. Call before the store takes writes.
   */
  attachOutbox(outbox: AuditOutbox): number {
    this.outbox = outbox;
    const replayed = outbox.pending();
    if (replayed.length > 0) this.appendAudit(replayed);
    return replayed.length;
  }

  static async start(options: AuditServiceOptions): Promise<EmbeddedAuditService> {
    const client =
      options.databaseUrl !== null
        ? postgresClient(options.databaseUrl, {
            onError: (err) => options.logger.warn({ err: err.message }, 'audit database connection error'),
          })
        : await pgliteClient(pgliteDataDir(options.dataDir));
    const store = new AuditStore(client, {
      name: options.databaseUrl !== null ? 'postgres' : 'pglite',
      readsWaitForSchema: true,
    });
    // Not awaiting the schema: records buffer until it is ready, and startup never waits on it.
    return new EmbeddedAuditService(store, options);
  }

  /** Hand this to MemoryStateStore as its `appendAudit` option. */
  readonly appendAudit = (records: readonly string[]): void => {
    if (this.pending !== null) this.pending.push(...records);
    else this.writer.append(records);
  };

  /** Resolves when every record appended so far is written (or failed for good). */
  async drain(): Promise<void> {
    await this.ready;
    await this.writer.drain();
  }

  async status(): Promise<AuditStatus> {
    return {
      backlog: (this.pending?.length ?? 0) + this.writer.pendingCount,
      failed: this.writer.failedCount,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready;
    await this.writer.close(this.outbox !== null);
    await this.store.close();
  }
}

/** BullMQ's connections: it requires maxRetriesPerRequest null, unlike the fail-fast state connections. */
export function bullConnection(target: RedisTarget, name: string): RedisClient {
  const redisOptions = { maxRetriesPerRequest: null, connectionName: name };
  const redis =
    'url' in target
      ? new Redis(target.url, { ...redisOptions, lazyConnect: false })
      : new Cluster([...target.clusterNodes], { redisOptions });
  redis.on('error', () => {});
  return redis;
}

/** Distributed mode: the relay and the worker; the records come from the state scripts. */
export class DistributedAuditService extends AuditService {
  readonly store: AuditStore;
  private readonly relay: AuditRelay;
  private readonly queue: AuditQueue;
  private worker: AuditWorker | null = null;
  private readonly connections: RedisClient[];
  private closed = false;
  readonly ready: Promise<boolean>;

  private constructor(
    store: AuditStore,
    relay: AuditRelay,
    queue: AuditQueue,
    connections: RedisClient[],
    private readonly options: AuditServiceOptions & { redis: RedisTarget; bullPrefix: string },
  ) {
    super();
    this.store = store;
    this.relay = relay;
    this.queue = queue;
    this.connections = connections;
    relay.start();
    this.ready = migrateWhenReachable(store, options.logger, () => this.closed).then((migrated) => {
      if (migrated && !this.closed) this.startWorker(connections[1]!);
      return migrated;
    });
  }

  static async start(
    options: AuditServiceOptions & { redis: RedisTarget; keys: StateKeys; databaseUrl: string },
  ): Promise<DistributedAuditService> {
    const { logger } = options;
    const store = new AuditStore(
      postgresClient(options.databaseUrl, {
        onError: (err) => logger.warn({ err: err.message }, 'audit database connection error'),
      }),
      { name: 'postgres', readsWaitForSchema: true },
    );
    const relayConnection = createRedisClient(options.redis, {
      connectionName: 'synckairos-audit-relay',
    });
    await connectRedis(relayConnection);
    const { bullPrefix } = options.keys;
    const producer = bullConnection(options.redis, 'synckairos-audit-queue');
    const consumer = bullConnection(options.redis, 'synckairos-audit-worker');
    const queue = new AuditQueue({ connection: producer, prefix: bullPrefix });
    const { onRecorded } = options;
    const relay = new AuditRelay({
      redis: relayConnection,
      keys: options.keys,
      queue:
        onRecorded === undefined
          ? queue
          : {
              addRecords: async (records) => {
                await queue.addRecords(records);
                await onRecorded(records.map(({ record }) => JSON.parse(record) as SessionEvent));
              },
            },
      consumerName: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
      onError: (err, context) => logger.warn({ err }, context),
    });
    return new DistributedAuditService(store, relay, queue, [producer, consumer], {
      ...options,
      bullPrefix,
    });
  }

  private startWorker(connection: RedisClient): void {
    const { logger, counters } = this.options;
    this.worker = new AuditWorker({
      connection,
      prefix: this.options.bullPrefix,
      sink: { write: (events) => this.store.write(events), isOutage: (err) => this.store.isOutage(err) },
      onFailed: (job, err) => {
        counters?.onFailed();
        logger.error({ err, jobId: job?.id }, 'audit record failed for good; kept in the failed set');
      },
      onOutage: (down, err) =>
        down
          ? logger.error({ err }, 'audit database unreachable; records wait in the queue')
          : logger.info('audit database reachable again; draining the queue'),
    });
  }

  async status(): Promise<AuditStatus> {
    return this.queue.depth();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.relay.close();
    await this.ready;
    await this.worker?.close();
    await this.queue.close();
    for (const connection of this.connections) connection.disconnect();
    await this.store.close();
  }
}
