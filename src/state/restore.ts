// Distributed mode: a session Redis lost (a flush, a failover without the last writes) that the
// audit trail holds as live is restored from its last recorded state, its version kept, with a
// `restored` event. Restores happen on first access (SyncEngine reads through `recover`), and a
// sweep over the trail's live sessions whose deadline has come (or that are idle past the
// limit) restores those nobody asks for, so their deadlines still fire (once: the restore and
// the expiry are both compare-and-sets).
import { LRUCache } from 'lru-cache';
import type { AuditStore } from '../audit/AuditStore.js';
import type { SyncEngine } from '../engine/SyncEngine.js';
import type { Clock } from '../types/clock.js';
import { ENDED_STATUSES, type SessionState } from '../types/session.js';

export interface RestoreLogger {
  warn(obj: object, msg: string): void;
}

/** The state a restore writes: the recorded one, announced as restored. */
export function restoredState(recorded: SessionState): SessionState {
  return { ...recorded, lastEvent: 'restored' };
}

/** True when a recorded state can still change (so a lost session with it is worth restoring). */
export function isLive(state: SessionState): boolean {
  return !ENDED_STATUSES.includes(state.status);
}

export interface RecoverOptions {
  /**
   * How long an id the trail holds no live session for is answered from memory (default 1 s):
   * reads of ids that never existed would otherwise cost a database query each.
   */
  notLiveTtlMs?: number;
  /** At most this many such ids are remembered (default 10,000; least recently used go first). */
  notLiveMax?: number;
}

const DEFAULT_NOT_LIVE_TTL_MS = 1_000;
const DEFAULT_NOT_LIVE_MAX = 10_000;

/**
 * SyncEngine's `recover`: the trail's last state of a live session. An unreachable trail is
 * logged and counts as "nothing recorded" (the session answers 404 until the trail is back).
 * An id found not live is remembered for a moment, and concurrent lookups of one id share a
 * query; a session Redis lost within that moment of such an answer is restored a moment later.
 */
export function recoverFromAudit(
  audit: Pick<AuditStore, 'lastState'>,
  logger: RestoreLogger,
  options: RecoverOptions = {},
): (sessionId: string) => Promise<SessionState | null> {
  const notLive = new LRUCache<string, true>({
    max: options.notLiveMax ?? DEFAULT_NOT_LIVE_MAX,
    ttl: options.notLiveTtlMs ?? DEFAULT_NOT_LIVE_TTL_MS,
  });
  const inFlight = new Map<string, Promise<SessionState | null>>();

  async function lookup(sessionId: string): Promise<SessionState | null> {
    try {
      const recorded = await audit.lastState(sessionId);
      if (recorded !== null && isLive(recorded)) return recorded;
      notLive.set(sessionId, true);
      return null;
    } catch (err) {
      // Not remembered: the trail may answer the next read.
      logger.warn({ err, sessionId }, 'restore: the audit trail is unreachable; the session is not restored');
      return null;
    }
  }

  return (sessionId) => {
    if (notLive.has(sessionId)) return Promise.resolve(null);
    let pending = inFlight.get(sessionId);
    if (pending === undefined) {
      pending = lookup(sessionId).finally(() => inFlight.delete(sessionId));
      inFlight.set(sessionId, pending);
    }
    return pending;
  };
}

export interface LostSessionSweepDeps {
  engine: Pick<SyncEngine, 'restoreIfLost'>;
  audit: Pick<AuditStore, 'liveSessionsDue'>;
  clock: Clock;
  logger: RestoreLogger;
  /** How often the trail is asked (default 2 s; the first sweep runs at once). */
  intervalMs?: number;
  /** At most this many sessions per sweep (default 500). */
  batchSize?: number;
  /** The engine's maximum idle time: a lost session idle that long is restored so that it ends. */
  maxIdleMs: number;
}

const DEFAULT_SWEEP_INTERVAL_MS = 2_000;
const DEFAULT_SWEEP_BATCH = 500;

/**
 * Every instance runs one: restores are exactly once, so instances racing cost only reads. In
 * steady state the trail's overdue live sessions are few (those whose expiry is still on its
 * way to the trail), each checked with one store read.
 */
export class LostSessionSweep {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private readonly intervalMs: number;
  private readonly batchSize: number;

  constructor(private readonly deps: LostSessionSweepDeps) {
    this.intervalMs = deps.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.batchSize = deps.batchSize ?? DEFAULT_SWEEP_BATCH;
  }

  start(): void {
    if (this.timer === null && !this.closed) this.schedule(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.sweep().finally(() => {
        this.running = null;
        if (!this.closed) this.schedule(this.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  /** Never rejects: a failed sweep is logged and the next one tries again. */
  private async sweep(): Promise<void> {
    try {
      const nowMs = this.deps.clock.nowMs();
      const due = await this.deps.audit.liveSessionsDue(nowMs, nowMs - this.deps.maxIdleMs, this.batchSize);
      for (const sessionId of due) {
        if (this.closed) return;
        await this.deps.engine.restoreIfLost(sessionId);
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'restore sweep failed; trying again at the next one');
    }
  }
}
