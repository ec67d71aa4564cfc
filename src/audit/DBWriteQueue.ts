// The distributed mode's audit delivery: a BullMQ queue of audit records and the worker that
// writes them to PostgreSQL. Writes are idempotent (one row per session version), so a job
// run twice is harmless. A record the database rejects is retried with exponential backoff
// and then kept as failed (one no retry can write, at once: not a SessionEvent, or a value
// the database refuses as data); an unreachable database spends no attempts: the worker
// pauses and the backlog waits in Redis until PostgreSQL is back.
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { stateKeys } from '../state/keys.js';
import type { SessionEvent } from '../types/session.js';
import { isRecordError } from './AuditStore.js';

export const AUDIT_QUEUE_NAME = 'synckairos-audit';
export const AUDIT_JOB_ATTEMPTS = 5;
/** The first retry's delay; each further one doubles it (1 s, 2 s, 4 s, 8 s). */
const BACKOFF_DELAY_MS = 1_000;
/**
 * A killed worker stops renewing its jobs' locks; another worker's stalled check puts them back
 * within about lockDuration + stalledInterval, 10 s instead of BullMQ's default minute. A
 * write takes milliseconds, so a live worker renews (every lockDuration / 2) long before expiry.
 */
const LOCK_DURATION_MS = 5_000;
const STALLED_INTERVAL_MS = 5_000;
/** How long the worker rests while the database is unreachable before it tries again. */
const OUTAGE_PAUSE_MS = 1_000;

export interface AuditJobData {
  /** One audit record: a SessionEvent as JSON. */
  record: string;
}

export interface AuditSink {
  /**
   * Writes the events idempotently; rejects when the database refuses or cannot be reached
   * (an error `isRecordError` recognises when no retry can write the record).
   */
  write(events: SessionEvent[]): Promise<number>;
  /** True for "the database is unreachable" (retry without spending attempts), false for a bad record. */
  isOutage(err: unknown): boolean;
}

/**
 * One job per version of one lifetime (a reused id's versions start again at 1). BullMQ job ids
 * may not contain ':' (its key separator); session ids may, so encode them.
 */
export function auditJobId(sessionId: string, lifetime: string, version: number): string {
  return `v${version}-${Buffer.from(lifetime).toString('base64url')}-${Buffer.from(sessionId).toString('base64url')}`;
}

export interface DBWriteQueueOptions {
  connection: ConnectionOptions;
  /** Key prefix for BullMQ's keys (StateKeys.bullPrefix), so tests and deployments can share a Redis. */
  prefix?: string;
}

export interface AuditQueueOptions extends DBWriteQueueOptions {
  /** The first retry's delay of a record the database rejects (default 1 s); tests shorten it. */
  backoffDelayMs?: number;
}

/** The producer side: the relay adds one job per record. */
export class AuditQueue {
  readonly queue: Queue<AuditJobData>;

  constructor(options: AuditQueueOptions) {
    this.queue = new Queue<AuditJobData>(AUDIT_QUEUE_NAME, {
      connection: options.connection,
      prefix: options.prefix ?? stateKeys().bullPrefix,
      defaultJobOptions: {
        attempts: AUDIT_JOB_ATTEMPTS,
        backoff: { type: 'exponential', delay: options.backoffDelayMs ?? BACKOFF_DELAY_MS },
        removeOnComplete: true,
        // Failed jobs are kept: they are the records that still need a person's attention.
        removeOnFail: false,
      },
    });
  }

  /** Queues records (JSON SessionEvents); a record already queued under its id is not queued twice. */
  async addRecords(
    records: Array<{ sessionId: string; lifetime: string; version: number; record: string }>,
  ): Promise<void> {
    if (records.length === 0) return;
    await this.queue.addBulk(
      records.map(({ sessionId, lifetime, version, record }) => ({
        name: 'audit',
        data: { record },
        opts: { jobId: auditJobId(sessionId, lifetime, version) },
      })),
    );
  }

  /** Waiting + delayed + active jobs: the backlog, for metrics. */
  async depth(): Promise<{ backlog: number; failed: number }> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed');
    const backlog =
      (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0);
    return { backlog, failed: counts.failed ?? 0 };
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export interface AuditWorkerOptions extends DBWriteQueueOptions {
  sink: AuditSink;
  concurrency?: number;
  /** A job failed for good (all attempts spent); for metrics and logs. Must not throw. */
  onFailed?: (job: Job<AuditJobData> | undefined, err: Error) => void;
  /** The database became unreachable or reachable again. */
  onOutage?: (down: boolean, err?: unknown) => void;
}

/** The consumer side: writes each record to the audit store. */
export class AuditWorker {
  readonly worker: Worker<AuditJobData>;
  private databaseDown = false;

  constructor(private readonly options: AuditWorkerOptions) {
    this.worker = new Worker<AuditJobData>(AUDIT_QUEUE_NAME, (job) => this.process(job), {
      connection: options.connection,
      prefix: options.prefix ?? stateKeys().bullPrefix,
      concurrency: options.concurrency ?? 16,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      autorun: true,
    });
    this.worker.on('failed', (job, err) => {
      // BullMQ stamps finishedOn only on a job failed for good: attempts spent, unrecoverable,
      // or stalled too often (these last two with attempts to spare).
      if (job !== undefined && typeof job.finishedOn === 'number') options.onFailed?.(job, err);
    });
    // A worker without an error listener would throw into the event loop on a Redis blip.
    this.worker.on('error', () => {});
  }

  private async process(job: Job<AuditJobData>): Promise<void> {
    let event: SessionEvent;
    try {
      event = JSON.parse(job.data.record) as SessionEvent;
    } catch (err) {
      throw new UnrecoverableError(`audit record is not JSON: ${(err as Error).message}`);
    }
    try {
      await this.options.sink.write([event]);
    } catch (err) {
      // Retrying cannot make it writable: straight to the failed set.
      if (isRecordError(err)) throw new UnrecoverableError((err as Error).message);
      if (!this.options.sink.isOutage(err)) throw err;
      if (!this.databaseDown) {
        this.databaseDown = true;
        this.options.onOutage?.(true, err);
      }
      // Not the record's fault: put it back without spending an attempt, and rest a while.
      await this.worker.rateLimit(OUTAGE_PAUSE_MS);
      throw Worker.RateLimitError();
    }
    if (this.databaseDown) {
      this.databaseDown = false;
      this.options.onOutage?.(false);
    }
  }

  async close(): Promise<void> {
    await this.worker.close();
  }
}
