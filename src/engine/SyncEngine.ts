// Applies the pure engine over a state store: read, apply due expiries, apply the command,
// write back with one compare-and-set, and retry when another writer got there first.
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { Clock } from '../types/clock.js';
import {
  SyncKairosError,
  batchSessionsExist,
  sessionNotFound,
  validationError,
  versionConflict,
} from '../types/errors.js';
import type { SessionCommand } from '../types/session.js';
import {
  type CreateSessionInput,
  type SessionEvent,
  type SessionState,
  type SessionView,
} from '../types/session.js';
import type { SessionListQuery, StateStore, WriteResult } from '../types/store.js';
import { createBatch, createdSession } from './createBatch.js';
import { SERVER_ACTOR, disconnectOutcome, disconnectPause, type DisconnectOutcome } from './disconnect.js';
import { applyDueExpiries } from './expiry.js';
import { DEFAULT_MAX_IDLE_MS, applyIdleExpiry, markActive, nextDeadlineAtMs } from './idle.js';
import { restoredState } from '../state/restore.js';
import { RenderedView } from './renderedView.js';
import { retentionMs } from './retention.js';
import { step } from './step.js';
import { toSessionView } from './view.js';

export const DEFAULT_SESSION_TTL_MS = 60 * 60 * 1000;
/** Writes lost to other writers before a request gives up with VERSION_CONFLICT. */
const MAX_WRITE_ATTEMPTS = 8;
/** Sessions whose latest known state a command may start from without reading the store. */
const RECENT_STATES_MAX = 10_000;
/** A batch's reads and writes in flight at once: not one round trip after another, not 500 at once. */
const BATCH_CONCURRENCY = 16;

/** The indexes whose flag is set. */
function indexesWhere(flags: readonly boolean[]): number[] {
  return flags.flatMap((flag, index) => (flag ? [index] : []));
}

export interface CommandOptions {
  expectedVersion?: number | undefined;
  actor?: string | undefined;
  /**
   * Runs on the state the command is about to change (after due expiries) and throws to
   * refuse it; inside the compare-and-set loop, so the check and the write see one state.
   */
  guard?: ((state: SessionState) => void) | undefined;
}

export interface CommandResult {
  view: SessionView;
  /** The same view, serialized at most once for every use of it on this instance. */
  rendered: RenderedView;
  state: SessionState;
  events: SessionEvent[];
}

/** What a committed write hands to the rest of the instance (deadline timers, audit). */
export interface Commit {
  state: SessionState;
  events: SessionEvent[];
  /** True when the session left the store (cancelled and removed). */
  removed: boolean;
  /** A command's commit: the view its caller gets, for this instance's watchers of the version. */
  rendered?: RenderedView;
}

export interface SyncEngineDeps {
  store: StateStore;
  clock: Clock;
  sessionTtlMs?: number;
  /** False: no audit records are written (distributed mode without an audit database). */
  recordAudit?: boolean;
  /** Called after every committed write, in commit order for one session. Must not throw. */
  onCommit?: (commit: Commit) => void;
  /**
   * Distributed mode with an audit trail: a session the store does not have, as the trail last
   * recorded it if it is still live there (null otherwise). It is then restored (state/restore.ts).
   */
  recover?: (sessionId: string) => Promise<SessionState | null>;
  /** A session nobody acts on for this long ends with `idle_expired` and is removed (engine/idle.ts). */
  maxIdleMs?: number;
}

/** An event as the audit log keeps it: one JSON record per session version. */
export function auditRecord(event: SessionEvent): string {
  return JSON.stringify(event);
}

export class SyncEngine {
  private readonly store: StateStore;
  private readonly clock: Clock;
  private readonly sessionTtlMs: number;
  private readonly onCommit: (commit: Commit) => void;
  private readonly recordAudit: boolean;
  private readonly recover: ((sessionId: string) => Promise<SessionState | null>) | undefined;
  private readonly maxIdleMs: number;
  /**
   * The newest state this instance wrote or was sent, per session (least recently used
   * first). Commands start from it instead of reading the store: the compare-and-set refuses
   * a stale one, and then the command runs again on a fresh read. Reads never use it.
   */
  private readonly recent = new Map<string, SessionState>();

  constructor(deps: SyncEngineDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.sessionTtlMs = deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.onCommit = deps.onCommit ?? (() => {});
    this.recordAudit = deps.recordAudit ?? true;
    this.recover = deps.recover;
    this.maxIdleMs = deps.maxIdleMs ?? DEFAULT_MAX_IDLE_MS;
  }

  /** The deadline the store indexes for this state: its clock's, or its idle deadline if sooner. */
  deadlineOf(state: SessionState): number | null {
    return nextDeadlineAtMs(state, this.maxIdleMs);
  }

  serverNowMs(): number {
    return this.clock.nowMs();
  }

  async createSession(input: CreateSessionInput, options: { actor?: string } = {}): Promise<SessionView> {
    const nowMs = this.clock.nowMs();
    const sessionId = input.session_id ?? randomUUID();
    const { state, events } = createdSession(input, { sessionId, nowMs, actor: options.actor ?? null });
    const result = await this.write(state, null, nowMs, events);
    if (!result.ok) {
      throw new SyncKairosError('SESSION_EXISTS', `Session '${state.sessionId}' already exists`, {
        session_id: state.sessionId,
      });
    }
    return toSessionView(state, nowMs);
  }

  /**
   * Creates every session or none, in request order; with `startAtMs` each one is started at
   * that one instant. Refused whole when any session is bad (400) or any id is taken (409). Ids
   * are checked before anything is written; a create that still loses a race for its id has the
   * sessions this batch already created removed (cancelled) before the 409.
   */
  async createSessions(
    inputs: readonly CreateSessionInput[],
    options: { actor?: string; startAtMs?: number | undefined } = {},
  ): Promise<SessionView[]> {
    const nowMs = this.clock.nowMs();
    const actor = options.actor ?? null;
    const writes = createBatch(inputs, { nowMs, actor, startAtMs: options.startAtMs, newId: randomUUID });
    const ids = writes.map((w) => w.state.sessionId);
    const limit = pLimit(BATCH_CONCURRENCY);
    const stored = await Promise.all(ids.map((id) => limit(() => this.store.get(id))));
    const taken = indexesWhere(stored.map((state) => state !== null));
    if (taken.length > 0) throw batchSessionsExist(ids, taken);

    const results = await Promise.allSettled(
      writes.map(({ state, events }) => limit(() => this.write(state, null, nowMs, events))),
    );
    const created = indexesWhere(results.map((r) => r.status === 'fulfilled' && r.value.ok));
    if (created.length === writes.length) return writes.map(({ state }) => toSessionView(state, nowMs));
    await Promise.all(created.map((index) => limit(() => this.removeCreated(ids[index] ?? '', actor))));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    throw batchSessionsExist(ids, indexesWhere(results.map((r) => r.status === 'fulfilled' && !r.value.ok)));
  }

  /** Undoes a batch's create: cancelled and removed, as a DELETE would (watchers see it go). */
  private async removeCreated(sessionId: string, actor: string | null): Promise<void> {
    try {
      await this.deleteSession(sessionId, { actor: actor ?? undefined });
    } catch (err) {
      if (!(err instanceof SyncKairosError && err.code === 'SESSION_NOT_FOUND')) throw err;
    }
  }

  /** The session as of now; expiries that are due show in the answer even before they are stored. */
  async getSession(sessionId: string): Promise<SessionView> {
    const stored = await this.read(sessionId);
    const nowMs = this.clock.nowMs();
    return toSessionView(applyDueExpiries(stored, nowMs).state, nowMs);
  }

  /**
   * A page of the live sessions in id order, as `getSession` shows each; the status filter is on
   * the stored status. `nextAfterId` is where the next page starts, null when this is the last.
   */
  async listSessions(
    query: SessionListQuery,
  ): Promise<{ sessions: SessionView[]; nextAfterId: string | null }> {
    // One more than the page: whether another page follows is known without reading it.
    const states = await this.store.list({ ...query, limit: query.limit + 1 });
    const page = states.slice(0, query.limit);
    const nowMs = this.clock.nowMs();
    return {
      sessions: page.map((state) => toSessionView(applyDueExpiries(state, nowMs).state, nowMs)),
      nextAfterId: states.length > query.limit ? (page.at(-1)?.sessionId ?? null) : null,
    };
  }

  async execute(
    sessionId: string,
    command: SessionCommand,
    options: CommandOptions = {},
  ): Promise<SessionView> {
    return (await this.executeDetailed(sessionId, command, options)).view;
  }

  async executeDetailed(
    sessionId: string,
    command: SessionCommand,
    options: CommandOptions = {},
  ): Promise<CommandResult> {
    if (command.type === 'pause' && command.systemPause !== undefined) {
      // Only the server pauses for a reason (pauseDisconnected); no client's command carries one.
      throw validationError([{ path: 'reason', message: 'is set by the server only' }]);
    }
    let known = this.recent.get(sessionId);
    for (let attempt = 1; ; attempt++) {
      const stored = known ?? (await this.read(sessionId));
      const fromMemory = known !== undefined;
      known = undefined;
      const nowMs = this.clock.nowMs();
      // Idle past its limit: it ended then, whatever arrives after (the scheduler may not have run yet).
      if (applyIdleExpiry(stored, nowMs, this.maxIdleMs) !== null) {
        await this.expireDue(sessionId);
        throw sessionNotFound(sessionId);
      }
      const outcome = step(stored, command, nowMs, options);
      const { state, events } = outcome;
      if (outcome.refused) {
        // A remembered state may be stale: only the store's own state can refuse a command.
        if (fromMemory) continue;
        // The command failed, but a flag that fell meanwhile is still a change worth keeping.
        if (events.length > 0) await this.write(state, stored, nowMs, events);
        throw outcome.error;
      }
      // The command's last version carries when a client last acted (its audit record too).
      markActive(state, nowMs);
      const last = events[events.length - 1];
      if (last !== undefined) markActive(last.state, nowMs);
      const rendered = new RenderedView(state, nowMs);
      const result = await this.write(state, stored, nowMs, events, rendered);
      if (result.ok) return { view: rendered.view, rendered, state, events };
      // A remembered session the store lost: read it again, which restores it if it can.
      if (result.reason === 'not_found' && fromMemory) continue;
      if (result.reason === 'not_found') throw sessionNotFound(sessionId);
      if (result.reason === 'version_conflict' && attempt >= MAX_WRITE_ATTEMPTS) {
        throw versionConflict(options.expectedVersion ?? stored.version, result.currentVersion);
      }
    }
  }

  /** Cancels the session (watchers get the final state) and removes it from the store. */
  async deleteSession(sessionId: string, options: CommandOptions = {}): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.read(sessionId);
      const nowMs = this.clock.nowMs();
      const cancelled = step(stored, { type: 'cancel' }, nowMs, options);
      if (cancelled.refused) throw cancelled.error;
      const result = await this.removeWith(cancelled.state, stored.version, cancelled.events);
      if (result.ok) return;
      if (result.reason === 'not_found') throw sessionNotFound(sessionId);
      if (result.reason === 'version_conflict' && attempt >= MAX_WRITE_ATTEMPTS) {
        throw versionConflict(options.expectedVersion ?? stored.version, result.currentVersion);
      }
    }
  }

  /**
   * Stores the expiries that are due by now; the deadline scheduler's one operation. The
   * compare-and-set makes it a claim: of several instances racing, one applies each expiry
   * and the others find nothing left to do. Returns the events this call applied, or null
   * when the session is not stored (its deadline index entry is stale).
   */
  async expireDue(sessionId: string): Promise<SessionEvent[] | null> {
    const stored = await this.load(sessionId);
    if (!stored) return null;
    const nowMs = this.clock.nowMs();
    const due = applyDueExpiries(stored, nowMs);
    const idle = applyIdleExpiry(due.state, nowMs, this.maxIdleMs);
    if (idle !== null) {
      // Idle for too long: it ends, and leaves the store with its final state published.
      const events = [...due.events, ...idle.events];
      const removed = await this.removeWith(idle.state, stored.version, events);
      if (removed.ok) return events;
      return removed.reason === 'not_found' ? null : [];
    }
    if (due.events.length === 0) return [];
    const result = await this.write(due.state, stored, nowMs, due.events);
    if (result.ok) return due.events;
    // A conflict: someone else wrote first, and every write applies the expiries due by its
    // time, so there is nothing to re-read for; whatever deadline it left is armed anew.
    return result.reason === 'not_found' ? null : [];
  }

  /**
   * The disconnect policy's act: pauses the participant's clock if it runs now, with the reason
   * in the state, as the server (no client's activity: the idle time runs on). The compare-and-set
   * makes it a claim: of several instances racing, one pauses and the others find it paused
   * (`drop`). `wait`: its clock does not run now but may later; `drop`: there is nothing to do.
   */
  async pauseDisconnected(
    sessionId: string,
    participantId: string,
  ): Promise<{ outcome: DisconnectOutcome; events: SessionEvent[] }> {
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const stored = await this.load(sessionId);
      if (!stored) return { outcome: 'drop', events: [] };
      const nowMs = this.clock.nowMs();
      const due = applyDueExpiries(stored, nowMs);
      const outcome = disconnectOutcome(due.state, participantId);
      if (outcome !== 'pause') return { outcome, events: [] };
      const paused = step(stored, disconnectPause(due.state, participantId), nowMs, { actor: SERVER_ACTOR });
      if (paused.refused) throw paused.error;
      const rendered = new RenderedView(paused.state, nowMs);
      const result = await this.write(paused.state, stored, nowMs, paused.events, rendered);
      if (result.ok) return { outcome: 'pause', events: paused.events };
      if (result.reason === 'not_found') return { outcome: 'drop', events: [] };
    }
    // Lost every race: the writers who won have changed the session; the caller looks again later.
    return { outcome: 'wait', events: [] };
  }

  /** Removes the session with its final state and events (a cancel, an idle expiry). */
  private async removeWith(
    final: SessionState,
    expectedVersion: number,
    events: SessionEvent[],
  ): Promise<WriteResult> {
    const result = await this.forgettingOnFailure(
      final.sessionId,
      this.store.remove(final, expectedVersion, this.auditRecords(events)),
    );
    if (result.ok) {
      this.recent.delete(final.sessionId);
      this.onCommit({ state: final, events, removed: true });
    }
    return result;
  }

  private auditRecords(events: SessionEvent[]): string[] {
    return this.recordAudit ? events.map(auditRecord) : [];
  }

  /**
   * A state this instance learnt of other than by its own writes (a watched session's
   * update from another instance), so its next command on that session need not read it.
   */
  noteState(state: SessionState): void {
    const known = this.recent.get(state.sessionId);
    if (known === undefined || known.version < state.version) this.remember(state);
  }

  private remember(state: SessionState): void {
    this.recent.delete(state.sessionId);
    this.recent.set(state.sessionId, state);
    if (this.recent.size > RECENT_STATES_MAX) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  /**
   * A write that failed without an answer (the store timed out) may have been applied or not:
   * the session's remembered state is no longer known to be the latest, so the next command
   * reads the store.
   */
  private async forgettingOnFailure(sessionId: string, write: Promise<WriteResult>): Promise<WriteResult> {
    try {
      return await write;
    } catch (err) {
      this.recent.delete(sessionId);
      throw err;
    }
  }

  /**
   * Restores the session if the store lost it and the audit trail has it live (with `recover`);
   * true when it is stored now. For the sweep that finds lost sessions before anyone asks.
   */
  async restoreIfLost(sessionId: string): Promise<boolean> {
    return (await this.load(sessionId)) !== null;
  }

  /** The stored session, or the restored one when the store lost it; null when neither. */
  private async load(sessionId: string): Promise<SessionState | null> {
    return (await this.store.get(sessionId)) ?? (await this.restore(sessionId));
  }

  private async restore(sessionId: string): Promise<SessionState | null> {
    const recorded = this.recover === undefined ? null : await this.recover(sessionId);
    if (recorded === null) return null;
    const state = restoredState(recorded);
    const nowMs = this.clock.nowMs();
    const result = await this.forgettingOnFailure(
      sessionId,
      this.store.restore({
        state,
        deadlineAtMs: this.deadlineOf(state),
        ttlMs: retentionMs(state, nowMs, this.sessionTtlMs),
      }),
    );
    if (result.ok) {
      this.remember(state);
      this.onCommit({ state, events: [], removed: false });
      return state;
    }
    // Another instance restored it first (exists), or this lifetime was removed (not_found).
    return result.reason === 'exists' ? this.store.get(sessionId) : null;
  }

  private async read(sessionId: string): Promise<SessionState> {
    const state = await this.load(sessionId);
    if (!state) {
      this.recent.delete(sessionId);
      throw sessionNotFound(sessionId);
    }
    return state;
  }

  /** Writes `state` over `stored` (compare-and-set on its version), or creates it when `stored` is null. */
  private async write(
    state: SessionState,
    stored: SessionState | null,
    nowMs: number,
    events: SessionEvent[],
    rendered?: RenderedView,
  ): Promise<WriteResult> {
    const result = await this.forgettingOnFailure(
      state.sessionId,
      this.store.save({
        expectedVersion: stored?.version ?? 0,
        previousStatus: stored?.status ?? null,
        state,
        deadlineAtMs: this.deadlineOf(state),
        ttlMs: retentionMs(state, nowMs, this.sessionTtlMs),
        auditRecords: this.auditRecords(events),
      }),
    );
    if (result.ok) {
      this.remember(state);
      this.onCommit(
        rendered === undefined
          ? { state, events, removed: false }
          : { state, events, removed: false, rendered },
      );
    } else {
      this.recent.delete(state.sessionId);
    }
    return result;
  }
}
