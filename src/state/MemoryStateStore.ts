import { createRequire } from 'node:module';
import type SortedBTree from 'sorted-btree';
import { storeUnavailable } from '../types/errors.js';
import type { SessionState, SessionStatus } from '../types/session.js';
import type {
  DeadlineEntry,
  RestoreWrite,
  SessionListQuery,
  SessionWrite,
  StateStore,
  WriteResult,
} from '../types/store.js';
import type { SessionLog, StoredSession } from './LmdbSessionLog.js';
import { decodeState, encodeState, publishedMessage } from './stateCodec.js';

export interface MemoryStateStoreOptions {
  /** Receives every write's state as Redis SPUBLISH would (`<version>|<stateJson>`); it must not throw. */
  publish?: (sessionId: string, message: string) => void;
  /** Receives every write's audit records, in the same step as the write; it must not throw. */
  appendAudit?: (records: readonly string[]) => void;
  /** How often expired sessions are swept (they also expire lazily on access). */
  sweepIntervalMs?: number;
  /**
   * Makes every write durable before it resolves, publishes or audits (embedded mode's DATA_DIR);
   * the store starts with the sessions it holds. Absent: memory only.
   */
  log?: SessionLog;
}

// A CommonJS module whose class is its `default` export: required, so every loader agrees on it.
const BTree = (createRequire(import.meta.url)('sorted-btree') as typeof SortedBTree).default;
/** A sorted set of session ids (a B+ tree: ordered walks from any id, O(log n) changes). */
type IdSet = InstanceType<typeof BTree<string, undefined>>;

interface Entry {
  version: number;
  /** The state's status, for the status index. */
  status: SessionStatus;
  /** Kept as JSON so no caller can mutate the store through an object it holds. */
  stateJson: string;
  /** Monotonic (performance.now) time the entry expires, or null for no TTL. */
  expiresAt: number | null;
}

/** A TTL stored as wall-clock epoch ms becomes a monotonic instant in this process. */
function monotonicFromEpochMs(epochMs: number): number {
  return monotonicNowMs() + (epochMs - Date.now());
}

const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

/** TTLs are durations, so they run on the monotonic clock, immune to wall-clock steps. */
function monotonicNowMs(): number {
  return performance.now();
}

/**
 * The embedded store: the Redis store's semantics in one process (CAS on the version, TTL,
 * deadline index, publish on every write). Both pass tests/contract/stateStore.contract.ts.
 */
export class MemoryStateStore implements StateStore {
  readonly name = 'memory';
  private readonly sessions = new Map<string, Entry>();
  /** sessionId → deadlineAtMs; scanned and sorted on read, fine for one process's sessions. */
  private readonly deadlines = new Map<string, number>();
  /** Every session's id, in id order (the list walks it). */
  private readonly ids: IdSet = new BTree<string, undefined>();
  /** The same, one set per status (created when first needed). */
  private readonly idsByStatus = new Map<SessionStatus, IdSet>();
  private readonly publish: (sessionId: string, message: string) => void;
  private readonly appendAudit: (records: readonly string[]) => void;
  private readonly log: SessionLog | null;
  /** Why the log failed: memory is then ahead of the disk, so nothing more is accepted. */
  private logFailure: unknown = null;
  private sweepTimer: NodeJS.Timeout | null;
  /** Sessions the log held at startup (TTL-expired ones excluded). */
  readonly restoredCount: number;

  constructor(options: MemoryStateStoreOptions = {}) {
    this.publish = options.publish ?? (() => {});
    this.appendAudit = options.appendAudit ?? (() => {});
    this.log = options.log ?? null;
    this.restoredCount = this.log === null ? 0 : this.loadLog(this.log);
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS);
    // The sweep is housekeeping; it must not keep the process alive.
    this.sweepTimer.unref();
  }

  async get(sessionId: string): Promise<SessionState | null> {
    const entry = this.live(sessionId);
    return entry === null ? null : decodeState(entry.stateJson);
  }

  async save(write: SessionWrite): Promise<WriteResult> {
    const { sessionId } = write.state;
    this.assertLogHealthy();
    const failure = this.check(sessionId, write.expectedVersion, true);
    if (failure) return failure;

    const stateJson = encodeState(write.state);
    // Same rule as the Lua script: a negative TTL means none.
    const ttlMs = write.ttlMs === null || write.ttlMs < 0 ? null : write.ttlMs;
    // The stored entry's own status: this store needs no caller to tell it (previousStatus).
    const previousStatus = this.sessions.get(sessionId)?.status ?? null;
    const { status } = write.state;
    // Memory changes at once, so the next compare-and-set sees this version even before it is on disk.
    this.sessions.set(sessionId, {
      version: write.state.version,
      status,
      stateJson,
      expiresAt: ttlMs === null ? null : monotonicNowMs() + ttlMs,
    });
    if (previousStatus === null) this.index(sessionId, status);
    else if (previousStatus !== status) this.reindex(sessionId, previousStatus, status);
    if (write.deadlineAtMs === null) this.deadlines.delete(sessionId);
    else this.deadlines.set(sessionId, write.deadlineAtMs);
    await this.persist(() =>
      this.log?.put(
        sessionId,
        {
          stateJson,
          deadlineAtMs: write.deadlineAtMs,
          expiresAtMs: ttlMs === null ? null : Date.now() + ttlMs,
        },
        write.auditRecords,
      ),
    );
    if (write.auditRecords?.length) this.appendAudit(write.auditRecords);
    this.notify(sessionId, write.state.version, stateJson);
    return { ok: true };
  }

  async remove(
    state: SessionState,
    expectedVersion: number,
    auditRecords: readonly string[] = [],
  ): Promise<WriteResult> {
    const { sessionId } = state;
    this.assertLogHealthy();
    const failure = this.check(sessionId, expectedVersion, false);
    if (failure) return failure;

    this.drop(sessionId);
    this.deadlines.delete(sessionId);
    await this.persist(() => this.log?.remove(sessionId, auditRecords));
    if (auditRecords.length > 0) this.appendAudit(auditRecords);
    this.notify(sessionId, state.version, encodeState(state));
    return { ok: true };
  }

  /** Embedded mode never restores (DATA_DIR keeps every session); the same rule as Redis regardless. */
  async restore(write: RestoreWrite): Promise<WriteResult> {
    return this.save({ ...write, expectedVersion: 0, previousStatus: null });
  }

  async list(query: SessionListQuery): Promise<SessionState[]> {
    const ids = query.status === undefined ? this.ids : this.idsByStatus.get(query.status);
    const found: SessionState[] = [];
    if (ids === undefined) return found;
    // One lookup per step, not an iterator: live() may drop an expired id from the set meanwhile.
    let id = ids.nextHigherKey(query.afterId);
    while (id !== undefined && found.length < query.limit) {
      const entry = this.live(id);
      if (entry !== null) found.push(decodeState(entry.stateJson));
      id = ids.nextHigherKey(id);
    }
    return found;
  }

  async deadlinesUntil(untilMs: number, limit: number): Promise<DeadlineEntry[]> {
    const entries: DeadlineEntry[] = [];
    for (const [sessionId, deadlineAtMs] of this.deadlines) {
      if (deadlineAtMs <= untilMs) entries.push({ sessionId, deadlineAtMs });
    }
    // Ties are ordered by id, as a Redis sorted set orders equal scores.
    entries.sort(
      (a, b) =>
        a.deadlineAtMs - b.deadlineAtMs ||
        (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0),
    );
    return entries.slice(0, Math.max(0, limit));
  }

  async dropStaleDeadline(sessionId: string): Promise<void> {
    if (this.live(sessionId) === null) this.deadlines.delete(sessionId);
  }

  /**
   * Every live session whose stored JSON holds `marker` (a cheap filter before decoding): for the
   * startup work of one process, such as re-arming the disconnect policy after a restart.
   */
  *statesWith(marker: string): Generator<SessionState> {
    for (const sessionId of this.sessions.keys()) {
      const entry = this.live(sessionId);
      if (entry !== null && entry.stateJson.includes(marker)) yield decodeState(entry.stateJson);
    }
  }

  async ping(): Promise<void> {
    this.assertLogHealthy();
  }

  async close(): Promise<void> {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    await this.log?.close();
  }

  /** Loads the log's sessions and rebuilds the deadline index; drops those whose TTL ran out meanwhile. */
  private loadLog(log: SessionLog): number {
    const nowEpochMs = Date.now();
    let restored = 0;
    for (const [sessionId, stored] of log.entries()) {
      if (stored.expiresAtMs !== null && stored.expiresAtMs <= nowEpochMs) {
        this.forget(sessionId);
        continue;
      }
      this.load(sessionId, stored);
      restored += 1;
    }
    return restored;
  }

  private load(sessionId: string, stored: StoredSession): void {
    const { version, status } = decodeState(stored.stateJson);
    this.index(sessionId, status);
    this.sessions.set(sessionId, {
      version,
      status,
      stateJson: stored.stateJson,
      expiresAt: stored.expiresAtMs === null ? null : monotonicFromEpochMs(stored.expiresAtMs),
    });
    if (stored.deadlineAtMs !== null) this.deadlines.set(sessionId, stored.deadlineAtMs);
  }

  /** Waits for the log to have the change; a failure stops the store (memory is now ahead of the disk). */
  private async persist(write: () => Promise<void> | undefined): Promise<void> {
    try {
      await write();
    } catch (err) {
      this.logFailure ??= err;
      throw storeUnavailable(this.name, err);
    }
  }

  private assertLogHealthy(): void {
    if (this.logFailure !== null) throw storeUnavailable(this.name, this.logFailure);
  }

  /** A session gone by TTL leaves the log too; nobody waits for it (a later write would supersede it). */
  private forget(sessionId: string): void {
    this.log?.remove(sessionId).catch(() => {});
  }

  /** The CAS rule of the Lua scripts; `creating` allows expectedVersion 0. */
  private check(sessionId: string, expectedVersion: number, creating: boolean): WriteResult | null {
    const entry = this.live(sessionId);
    if (creating && expectedVersion === 0) return entry === null ? null : { ok: false, reason: 'exists' };
    if (entry === null) return { ok: false, reason: 'not_found' };
    if (entry.version !== expectedVersion) {
      return { ok: false, reason: 'version_conflict', currentVersion: entry.version };
    }
    return null;
  }

  /** The entry, unless its TTL has run out (then it is dropped, as Redis does lazily). */
  private live(sessionId: string): Entry | null {
    const entry = this.sessions.get(sessionId);
    if (entry === undefined) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= monotonicNowMs()) {
      // Like a Redis key expiring: the deadline index entry, if any, stays.
      this.drop(sessionId);
      this.forget(sessionId);
      return null;
    }
    return entry;
  }

  private statusIds(status: SessionStatus): IdSet {
    let ids = this.idsByStatus.get(status);
    if (ids === undefined) {
      ids = new BTree<string, undefined>();
      this.idsByStatus.set(status, ids);
    }
    return ids;
  }

  private index(sessionId: string, status: SessionStatus): void {
    this.ids.set(sessionId, undefined);
    this.statusIds(status).set(sessionId, undefined);
  }

  private reindex(sessionId: string, from: SessionStatus, to: SessionStatus): void {
    this.idsByStatus.get(from)?.delete(sessionId);
    this.statusIds(to).set(sessionId, undefined);
  }

  /** Takes the session out of the map and the id indexes. */
  private drop(sessionId: string): void {
    const entry = this.sessions.get(sessionId);
    if (entry === undefined) return;
    this.sessions.delete(sessionId);
    this.ids.delete(sessionId);
    this.idsByStatus.get(entry.status)?.delete(sessionId);
  }

  private sweep(): void {
    for (const sessionId of this.sessions.keys()) this.live(sessionId);
  }

  private notify(sessionId: string, version: number, stateJson: string): void {
    try {
      this.publish(sessionId, publishedMessage(version, stateJson));
    } catch {
      // The write is done; a failing watcher must not report it as failed (Redis PUBLISH is fire-and-forget too).
    }
  }
}
