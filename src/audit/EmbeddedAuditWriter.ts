// Embedded mode's audit delivery: an in-process queue between MemoryStateStore's appendAudit
// callback and the AuditStore. Records are written in order, in batches. A record the database
// refuses is retried with exponential backoff and then kept as failed (one no retry can write,
// at once, so it holds up nothing behind it); while the database is unreachable nothing spends
// attempts, the queue waits and retries until it is back.
import type { Logger } from '../monitoring/logger.js';
import type { SessionEvent } from '../types/session.js';
import { isConnectionError, isRecordError } from './AuditStore.js';

/** Where the writer writes; `records` are the events as appended (the outbox knows them so). */
export interface AuditSink {
  write(events: SessionEvent[], records: readonly string[]): Promise<number>;
}

export interface EmbeddedAuditWriterOptions {
  /** First retry delay for a refused record; doubles with each attempt (default 1000 ms). */
  retryDelayMs?: number;
  /** Attempts for a record the database refuses before it is kept as failed (default 5). */
  maxAttempts?: number;
  /** Longest wait between tries while the database is unreachable (default 5000 ms). */
  maxOutageDelayMs?: number;
  /** How long close() waits for the queue to empty before it gives up (default 5000 ms). */
  closeTimeoutMs?: number;
  /** A record failed for good. Must not throw (a throw is caught and logged). */
  onFailed?: (record: string, err: unknown) => void;
  logger?: Pick<Logger, 'warn' | 'error' | 'info'>;
}

export interface FailedAuditRecord {
  record: string;
  error: string;
  failedAtMs: number;
}

interface Entry {
  record: string;
  event: SessionEvent;
  attempts: number;
}

const MAX_BATCH = 200;
/** Failed records kept for inspection; beyond this only the count grows. */
const MAX_FAILED_KEPT = 1000;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class EmbeddedAuditWriter {
  private readonly queue: Entry[] = [];
  private readonly failed: FailedAuditRecord[] = [];
  private readonly retryDelayMs: number;
  private readonly maxAttempts: number;
  private readonly maxOutageDelayMs: number;
  private readonly closeTimeoutMs: number;
  private pump: Promise<void> | null = null;
  /** Records at the head to write one at a time: a batch was refused and the culprit is among them. */
  private isolating = 0;
  private outageDelayMs: number;
  private databaseDown = false;
  private closed = false;
  private wake: (() => void) | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private written = 0;
  private failures = 0;

  constructor(
    private readonly store: AuditSink,
    private readonly options: EmbeddedAuditWriterOptions = {},
  ) {
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.maxOutageDelayMs = options.maxOutageDelayMs ?? 5000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.outageDelayMs = this.retryDelayMs;
  }

  /** Records failed for good so far (all attempts spent, or none could help). */
  get failedCount(): number {
    return this.failures;
  }

  /** Records waiting to be written. */
  get pendingCount(): number {
    return this.queue.length;
  }

  /** Rows written so far (versions already in the store do not count). */
  get writtenCount(): number {
    return this.written;
  }

  /** The most recent failed records, oldest first. */
  get failedRecords(): readonly FailedAuditRecord[] {
    return this.failed;
  }

  /** Queues records (JSON SessionEvents) for writing. Never throws, never waits. */
  append = (records: readonly string[]): void => {
    if (this.closed) {
      this.options.logger?.warn(
        { records: records.length },
        'audit records appended after close; not written',
      );
      return;
    }
    for (const record of records) {
      let event: SessionEvent;
      try {
        event = JSON.parse(record) as SessionEvent;
      } catch (err) {
        // Parsing will not succeed on a retry either.
        this.fail(record, err);
        continue;
      }
      this.queue.push({ record, event, attempts: 0 });
    }
    if (this.pump === null && this.queue.length > 0) {
      this.pump = this.run().finally(() => {
        this.pump = null;
      });
    }
  };

  /** Resolves when everything appended so far is written or failed (while the database is down: when it is back). */
  async drain(): Promise<void> {
    while (this.pump !== null) await this.pump;
  }

  /**
   * Stops the writer: waits up to closeTimeoutMs for the queue to empty, then drops what is
   * left (logged with its count; `kept`: an outbox on disk still holds it for the next start).
   * Safe to call twice.
   */
  async close(kept = false): Promise<void> {
    if (this.closed) {
      await this.drain();
      return;
    }
    const drained = this.drain().then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.closeTimeoutMs);
    });
    const done = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    this.closed = true;
    if (!done) {
      this.options.logger?.error(
        { pending: this.queue.length },
        kept
          ? 'audit writer closed with records not yet written; the outbox keeps them for the next start'
          : 'audit writer closed with records not yet written; they are lost',
      );
      this.queue.length = 0;
      this.interruptSleep();
    }
  }

  private async run(): Promise<void> {
    // Start on the next turn of the event loop: append stays a plain enqueue inside the state
    // store's write, and the records of writes made meanwhile join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.slice(0, this.isolating > 0 ? 1 : MAX_BATCH);
      try {
        this.written += await this.store.write(
          batch.map((entry) => entry.event),
          batch.map((entry) => entry.record),
        );
        this.queue.splice(0, batch.length);
        this.isolating = Math.max(0, this.isolating - batch.length);
        this.databaseUp();
      } catch (err) {
        if (this.closed) break;
        if (isConnectionError(err)) {
          // Not the records' fault: wait for the database, spending no attempts.
          this.databaseGone(err);
          await this.sleep(this.outageDelayMs);
          this.outageDelayMs = Math.min(this.outageDelayMs * 2, this.maxOutageDelayMs);
          continue;
        }
        this.databaseUp();
        if (batch.length > 1) {
          // One of these is refused; write them one by one so the others go through.
          this.isolating = batch.length;
          continue;
        }
        const entry = batch[0] as Entry;
        entry.attempts += 1;
        // Not a SessionEvent, or a value the database refuses as data: no retry can help.
        if (entry.attempts >= this.maxAttempts || isRecordError(err)) {
          this.queue.shift();
          this.isolating = Math.max(0, this.isolating - 1);
          this.fail(entry.record, err);
          continue;
        }
        this.options.logger?.warn(
          { err: message(err), attempt: entry.attempts, maxAttempts: this.maxAttempts },
          'audit record refused; retrying',
        );
        await this.sleep(this.retryDelayMs * 2 ** (entry.attempts - 1));
      }
    }
  }

  private fail(record: string, err: unknown): void {
    this.failures += 1;
    this.failed.push({ record, error: message(err), failedAtMs: Date.now() });
    if (this.failed.length > MAX_FAILED_KEPT) this.failed.shift();
    this.options.logger?.error({ err: message(err), record: record.slice(0, 500) }, 'audit record failed');
    try {
      this.options.onFailed?.(record, err);
    } catch (callbackErr) {
      this.options.logger?.error({ err: message(callbackErr) }, 'audit onFailed callback threw');
    }
  }

  private databaseGone(err: unknown): void {
    if (this.databaseDown) return;
    this.databaseDown = true;
    this.options.logger?.warn(
      { err: message(err), pending: this.queue.length },
      'audit database unreachable; records wait in memory',
    );
  }

  private databaseUp(): void {
    this.outageDelayMs = this.retryDelayMs;
    if (!this.databaseDown) return;
    this.databaseDown = false;
    this.options.logger?.info({ pending: this.queue.length }, 'audit database reachable again');
  }

  /** A wait that close() can cut short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.wakeTimer = setTimeout(() => this.interruptSleep(), ms);
    });
  }

  private interruptSleep(): void {
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
