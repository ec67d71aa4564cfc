// Applies the disconnect policy: polls the disconnect index for participants gone past their
// grace and pauses their clock through the engine. Every instance runs one; the engine's
// compare-and-set is the claim, so of instances racing for one entry, one pauses.
import type { SyncEngine } from '../engine/SyncEngine.js';
import type { Clock } from '../types/clock.js';
import { SyncKairosError } from '../types/errors.js';
import type { DisconnectEntry, PresenceStore } from '../types/presence.js';
import type { SessionEvent } from '../types/session.js';

export interface DisconnectSweepLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DisconnectSweepDeps {
  engine: Pick<SyncEngine, 'pauseDisconnected'>;
  store: PresenceStore;
  clock: Clock;
  logger?: DisconnectSweepLogger;
  /** How often the index is read (default 500 ms: 64 reads, one per bucket, each time). */
  pollIntervalMs?: number;
  /** How much later an entry whose clock does not run yet is looked at again (default 1 s). */
  recheckMs?: number;
  /** At most this many entries per poll, earliest first (default 1000). */
  batchSize?: number;
  /** The events of every pause this instance made. Must not throw. */
  onPaused?: (events: SessionEvent[]) => void;
}

const DEFAULT_POLL_INTERVAL_MS = 500;
const DEFAULT_RECHECK_MS = 1000;
const DEFAULT_BATCH_SIZE = 1000;

export class DisconnectSweep {
  private readonly deps: DisconnectSweepDeps;
  private readonly pollIntervalMs: number;
  private readonly recheckMs: number;
  private readonly batchSize: number;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private started = false;
  private closed = false;
  /** Failures since the store or engine last answered; only the first of a streak is logged. */
  private failures = 0;

  constructor(deps: DisconnectSweepDeps) {
    this.deps = deps;
    this.pollIntervalMs = deps.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.recheckMs = deps.recheckMs ?? DEFAULT_RECHECK_MS;
    this.batchSize = deps.batchSize ?? DEFAULT_BATCH_SIZE;
  }

  /** Starts polling (the first poll at once); safe to call twice. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.schedule(0);
  }

  /** Stops polling and waits for the poll under way; safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(this.onTimer, delayMs);
    this.timer.unref();
  }

  /** One poll at a time: the next is scheduled only when this one is done. */
  private readonly onTimer = (): void => {
    this.timer = null;
    this.polling = this.poll().finally(() => {
      this.polling = null;
      if (!this.closed) this.schedule(this.pollIntervalMs);
    });
  };

  private async poll(): Promise<void> {
    let entries: DisconnectEntry[];
    try {
      entries = await this.deps.store.due(this.deps.clock.nowMs(), this.batchSize);
    } catch (err) {
      this.failed(err);
      return;
    }
    for (const entry of entries) {
      if (this.closed) return;
      try {
        await this.apply(entry);
      } catch (err) {
        // Still in the index: the next poll takes it again.
        this.failed(err);
        continue;
      }
      this.answered();
    }
  }

  /** One due entry: a participant back is left to its renewals; one still gone is paused if its clock runs. */
  private async apply(entry: DisconnectEntry): Promise<void> {
    const { store, engine, clock } = this.deps;
    const { sessionId, participantId } = entry;
    if (await store.present(sessionId, participantId, clock.nowMs())) {
      // Back (or held by an instance whose clock runs behind): renewals move it on from here.
      await store.settle(entry, clock.nowMs() + this.recheckMs);
      return;
    }
    const { outcome, events } = await engine.pauseDisconnected(sessionId, participantId);
    // `wait`: its turn (or the start) may come while it is still gone.
    await store.settle(entry, outcome === 'wait' ? clock.nowMs() + this.recheckMs : null);
    if (events.length === 0) return;
    try {
      this.deps.onPaused?.(events);
    } catch (err) {
      this.deps.logger?.error({ err, sessionId }, 'Disconnect sweep: onPaused threw');
    }
  }

  private failed(err: unknown): void {
    const unavailable = err instanceof SyncKairosError && err.code === 'STORE_UNAVAILABLE';
    if (!unavailable) {
      this.deps.logger?.error({ err }, 'Disconnect sweep: applying the disconnect policy failed');
      return;
    }
    this.failures += 1;
    if (this.failures === 1) {
      this.deps.logger?.warn({ err }, 'Disconnect sweep: the store is unavailable; due pauses wait for it');
    }
  }

  private answered(): void {
    if (this.failures === 0) return;
    this.deps.logger?.warn({ failures: this.failures }, 'Disconnect sweep: the store answers again');
    this.failures = 0;
  }
}
