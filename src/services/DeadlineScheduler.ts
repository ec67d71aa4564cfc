// Applies every deadline with no client request: one precise timer per upcoming deadline the
// instance knows of, and a poll of the store's deadline index for those written elsewhere (by
// another instance, or by one that died). Every instance runs one; expireDue's compare-and-set
// is the claim, so each expiry is applied exactly once however many of them race for it.
// Timers are armed only within the poll's lookahead: a deadline noted further ahead waits in a
// map until the poll finds it near. One learnt from the poll alone fires a grace later, so the
// instance that wrote or watches the session claims it first and the poll is the backstop.
import type { SyncEngine } from '../engine/SyncEngine.js';
import type { Clock } from '../types/clock.js';
import { SyncKairosError } from '../types/errors.js';
import type { SessionEvent } from '../types/session.js';
import type { StateStore } from '../types/store.js';

export interface DeadlineSchedulerLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DeadlineSchedulerDeps {
  engine: Pick<SyncEngine, 'expireDue'>;
  store: Pick<StateStore, 'deadlinesUntil' | 'dropStaleDeadline'>;
  /** The clock the engine uses; timers are set from it, and nothing is applied before it says so. */
  clock: Clock;
  logger?: DeadlineSchedulerLogger;
  /** How often the deadline index is read (default 100 ms). */
  pollIntervalMs?: number;
  /** How far ahead of now each poll looks, so a timer is armed before its deadline (default 1 s). */
  lookaheadMs?: number;
  /** How much later a deadline known only from the index is claimed (default 20 ms). */
  backstopGraceMs?: number;
  /** At most this many index entries per poll, earliest first (default 5000). */
  batchSize?: number;
  /** The events of every expiry this instance applied (not those other instances applied). Must not throw. */
  onExpired?: (events: SessionEvent[]) => void;
}

const DEFAULT_POLL_INTERVAL_MS = 100;
const DEFAULT_LOOKAHEAD_MS = 1000;
const DEFAULT_BACKSTOP_GRACE_MS = 20;
/** Noted deadlines this far past that no poll has found (their session went elsewhere) are forgotten. */
const FORGET_NOTED_AFTER_MS = 10_000;
/**
 * Noted deadlines each poll looks at for that: a bounded slice, so that an instance that noted
 * 100,000 sessions never stalls its event loop on one walk of them all (~10 ms every 10 s in the
 * benchmark's profile at 100,000 sessions).
 */
const NOTES_SWEPT_PER_POLL = 1000;
const DEFAULT_BATCH_SIZE = 5000;
/** setTimeout's largest delay; a timer for a later deadline fires early and is re-armed. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

interface ArmedDeadline {
  deadlineAtMs: number;
  /** The deadline, or a grace after it for one known only from the index. */
  fireAtMs: number;
  timer: NodeJS.Timeout;
}

const silentLogger: DeadlineSchedulerLogger = { warn() {}, error() {} };

function isStoreUnavailable(err: unknown): boolean {
  return err instanceof SyncKairosError && err.code === 'STORE_UNAVAILABLE';
}

export class DeadlineScheduler {
  private readonly engine: Pick<SyncEngine, 'expireDue'>;
  private readonly store: Pick<StateStore, 'deadlinesUntil' | 'dropStaleDeadline'>;
  private readonly clock: Clock;
  private readonly logger: DeadlineSchedulerLogger;
  private readonly pollIntervalMs: number;
  private readonly lookaheadMs: number;
  private readonly backstopGraceMs: number;
  private readonly batchSize: number;
  private readonly onExpired: (events: SessionEvent[]) => void;

  private readonly armed = new Map<string, ArmedDeadline>();
  /** Deadlines noted beyond the lookahead: the poll arms them, without grace, once near. */
  private readonly noted = new Map<string, number>();
  /** Where the sweep for stale notes goes on at the next poll; a Map iterator survives changes. */
  private notesSweep: Iterator<[string, number]> | null = null;
  /** One expireDue per session at a time; its promise never rejects. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Sessions whose timer fired while their expiry was in flight: run once more after it. */
  private readonly runAgain = new Set<string>();
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private started = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Store failures since it last answered; only the first of a streak is logged. */
  private storeFailures = 0;

  constructor(deps: DeadlineSchedulerDeps) {
    this.engine = deps.engine;
    this.store = deps.store;
    this.clock = deps.clock;
    this.logger = deps.logger ?? silentLogger;
    this.pollIntervalMs = deps.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.lookaheadMs = deps.lookaheadMs ?? DEFAULT_LOOKAHEAD_MS;
    this.backstopGraceMs = deps.backstopGraceMs ?? DEFAULT_BACKSTOP_GRACE_MS;
    this.batchSize = deps.batchSize ?? DEFAULT_BATCH_SIZE;
    this.onExpired = deps.onExpired ?? (() => {});
  }

  /** Starts polling the deadline index (the first poll runs at once); safe to call twice. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.schedulePoll(0);
  }

  /** The session's next deadline as this instance just learnt it (a commit, a watched update); null clears it. */
  note(sessionId: string, deadlineAtMs: number | null): void {
    if (this.closed) return;
    if (deadlineAtMs === null || deadlineAtMs > this.clock.nowMs() + this.lookaheadMs) {
      // A timer armed for an earlier deadline is outdated: that deadline is gone.
      this.disarm(sessionId);
      if (deadlineAtMs === null) this.noted.delete(sessionId);
      else this.noted.set(sessionId, deadlineAtMs);
      return;
    }
    this.noted.delete(sessionId);
    this.arm(sessionId, deadlineAtMs, deadlineAtMs);
  }

  /** How many deadlines this instance holds: with a timer set, and noted beyond the lookahead. */
  get deadlinesHeld(): { armed: number; noted: number } {
    return { armed: this.armed.size, noted: this.noted.size };
  }

  /** Clears every timer and the poll, then waits for the expiries in flight; safe to call twice. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.closed = true;
      this.closing = this.shutdown();
    }
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    for (const { timer } of this.armed.values()) clearTimeout(timer);
    this.armed.clear();
    this.noted.clear();
    this.notesSweep = null;
    this.runAgain.clear();
    await this.polling;
    await Promise.all(this.inFlight.values());
  }

  private arm(sessionId: string, deadlineAtMs: number, fireAtMs: number): void {
    const current = this.armed.get(sessionId);
    if (current?.deadlineAtMs === deadlineAtMs && current.fireAtMs <= fireAtMs) return;
    if (current !== undefined) clearTimeout(current.timer);
    const delayMs = Math.min(Math.max(0, fireAtMs - this.clock.nowMs()), MAX_TIMER_DELAY_MS);
    const armed: ArmedDeadline = {
      deadlineAtMs,
      fireAtMs,
      timer: setTimeout(this.onTimer, delayMs, sessionId),
    };
    // Deadline timers are the scheduler's business; they must not keep the process alive.
    armed.timer.unref();
    this.armed.set(sessionId, armed);
  }

  private disarm(sessionId: string): void {
    const current = this.armed.get(sessionId);
    if (current === undefined) return;
    clearTimeout(current.timer);
    this.armed.delete(sessionId);
  }

  private readonly onTimer = (sessionId: string): void => {
    try {
      const armed = this.armed.get(sessionId);
      if (armed === undefined || this.closed) return;
      this.armed.delete(sessionId);
      // Node's timers and the disciplined clock differ slightly: never apply early, wait for the rest.
      if (this.clock.nowMs() < armed.fireAtMs) {
        this.arm(sessionId, armed.deadlineAtMs, armed.fireAtMs);
        return;
      }
      this.expire(sessionId);
    } catch (err) {
      this.logger.error({ err, sessionId }, 'Deadline scheduler: a deadline timer failed');
    }
  };

  private expire(sessionId: string): void {
    if (this.inFlight.has(sessionId)) {
      this.runAgain.add(sessionId);
      return;
    }
    const run = this.applyExpiry(sessionId).finally(() => {
      this.inFlight.delete(sessionId);
      if (this.runAgain.delete(sessionId) && !this.closed) this.expire(sessionId);
    });
    this.inFlight.set(sessionId, run);
  }

  /** Never rejects: a failure is logged and the deadline, still in the index, comes back at the next poll. */
  private async applyExpiry(sessionId: string): Promise<void> {
    let events: SessionEvent[];
    try {
      const applied = await this.engine.expireDue(sessionId);
      // Only a gone session leaves its index entry behind: when another instance won the claim,
      // its write has already moved the entry.
      if (applied === null) await this.store.dropStaleDeadline(sessionId);
      events = applied ?? [];
      this.storeAnswered();
    } catch (err) {
      this.storeFailed(err, { sessionId }, 'Deadline scheduler: an expiry failed; retried at the next poll');
      return;
    }
    if (events.length === 0) return;
    try {
      this.onExpired(events);
    } catch (err) {
      this.logger.error({ err, sessionId }, 'Deadline scheduler: onExpired threw');
    }
  }

  private schedulePoll(delayMs: number): void {
    this.pollTimer = setTimeout(this.onPollTimer, delayMs);
    this.pollTimer.unref();
  }

  /** One poll at a time: the next is scheduled only when this one is done. */
  private readonly onPollTimer = (): void => {
    this.pollTimer = null;
    this.polling = this.poll().finally(() => {
      this.polling = null;
      if (!this.closed) this.schedulePoll(this.pollIntervalMs);
    });
  };

  private async poll(): Promise<void> {
    try {
      const entries = await this.store.deadlinesUntil(this.clock.nowMs() + this.lookaheadMs, this.batchSize);
      this.storeAnswered();
      if (this.closed) return;
      for (const { sessionId, deadlineAtMs } of entries) {
        if (this.inFlight.has(sessionId)) continue;
        // An earlier timer is kept: if the deadline moved later, it finds nothing and the next poll re-arms.
        const known = this.armed.get(sessionId);
        if (known !== undefined && known.deadlineAtMs <= deadlineAtMs) continue;
        const ours = this.noted.get(sessionId) === deadlineAtMs;
        if (ours) this.noted.delete(sessionId);
        this.arm(sessionId, deadlineAtMs, ours ? deadlineAtMs : deadlineAtMs + this.backstopGraceMs);
      }
      this.forgetStaleNotes();
    } catch (err) {
      this.storeFailed(err, {}, 'Deadline scheduler: polling the deadline index failed');
    }
  }

  /**
   * Drops noted deadlines long past that no poll returned (their session was removed
   * elsewhere), a slice per poll: every note is looked at once per noted.size / slice polls.
   */
  private forgetStaleNotes(): void {
    const forgetBeforeMs = this.clock.nowMs() - FORGET_NOTED_AFTER_MS;
    this.notesSweep ??= this.noted.entries();
    for (let i = 0; i < NOTES_SWEPT_PER_POLL; i++) {
      const next = this.notesSweep.next();
      if (next.done === true) {
        this.notesSweep = null;
        return;
      }
      const [sessionId, deadlineAtMs] = next.value;
      if (deadlineAtMs < forgetBeforeMs) this.noted.delete(sessionId);
    }
  }

  private storeFailed(err: unknown, context: object, msg: string): void {
    if (!isStoreUnavailable(err)) {
      this.logger.error({ err, ...context }, msg);
      return;
    }
    this.storeFailures += 1;
    // A store outage fails every poll and every timer; one line says so, storeAnswered says when it ends.
    if (this.storeFailures === 1) {
      this.logger.warn({ err, ...context }, `${msg}: the store is unavailable; due deadlines wait for it`);
    }
  }

  private storeAnswered(): void {
    if (this.storeFailures === 0) return;
    this.logger.warn(
      { failures: this.storeFailures },
      'Deadline scheduler: the store answers again; overdue deadlines are being applied',
    );
    this.storeFailures = 0;
  }
}
