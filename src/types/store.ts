import type { SessionState, SessionStatus } from './session.js';

/** A compare-and-set write of one session. */
export interface SessionWrite {
  /** The version the stored session must have; 0 means it must not exist yet. */
  expectedVersion: number;
  /** The new state (its `version` is the one stored). */
  state: SessionState;
  /**
   * The status of the stored version (`expectedVersion`'s), null when creating: the status index
   * moves the session only when it differs from the new state's.
   */
  previousStatus: SessionStatus | null;
  /** When the running clock needs the server's attention next (deadline index), or null. */
  deadlineAtMs: number | null;
  /** How long the session is kept after this write; null keeps it while it could be in play. */
  ttlMs: number | null;
  /** Audit records of the versions this write makes, committed with it or not at all. */
  auditRecords?: readonly string[];
}

/** A restore: the state, its deadline and TTL, as a write would store them. */
export type RestoreWrite = Omit<SessionWrite, 'expectedVersion' | 'auditRecords' | 'previousStatus'>;

/** A page of the session list: sessions ordered by id. */
export interface SessionListQuery {
  /** Only sessions stored with this status; every session when absent. */
  status?: SessionStatus | undefined;
  /** Only ids after this one (the last id of the previous page). */
  afterId?: string | undefined;
  /** At most this many; fewer only when no more sessions match. */
  limit: number;
}

/** One entry of the deadline index: when a running session needs the server's attention. */
export interface DeadlineEntry {
  sessionId: string;
  deadlineAtMs: number;
}

export type WriteResult =
  | { ok: true }
  | { ok: false; reason: 'version_conflict'; currentVersion: number }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'exists' };

/**
 * Where live session state is kept. Implementations: Redis (distributed) and an in-process
 * map (embedded); both pass the same contract suite. Every write is one atomic
 * compare-and-set on the version, and publishes the new state to the session's watchers.
 */
export interface StateStore {
  readonly name: string;
  get(sessionId: string): Promise<SessionState | null>;
  save(write: SessionWrite): Promise<WriteResult>;
  /** Removes the session (after a cancel); `state` is the final state published to watchers. */
  remove(
    state: SessionState,
    expectedVersion: number,
    auditRecords?: readonly string[],
  ): Promise<WriteResult>;
  /**
   * Writes a session Redis lost, as the audit trail last recorded it (its version kept), only if
   * none is stored and that lifetime was not removed here: of several instances racing, one
   * restores it and the others get `exists`; `not_found` means the lifetime was removed. The
   * state is published; no audit record is written (the trail has it already).
   */
  restore(write: RestoreWrite): Promise<WriteResult>;
  /** Deadline index entries at or before `untilMs` (overdue ones included), earliest first. */
  deadlinesUntil(untilMs: number, limit: number): Promise<DeadlineEntry[]>;
  /**
   * Takes the session out of the deadline index only if the session no longer exists (a TTL
   * ran out, or the key was deleted), atomically with that check; a live session is left alone.
   */
  dropStaleDeadline(sessionId: string): Promise<void>;
  /**
   * Live sessions in id order (by code unit: ids are ASCII), from an index, never a scan of every
   * session. Ids are the order, so creates and deletes between pages never shift one: a walk
   * page after page sees every session that lived throughout it exactly once.
   */
  list(query: SessionListQuery): Promise<SessionState[]>;
  /** Resolves when the store answers; rejects with STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
