// The audit trail in SQL (PostgreSQL, or PGlite in embedded mode): one row per session version,
// written idempotently, and one summary row per session that only ever moves forward.
import { deadlineAtMs } from '../engine/clocks.js';
import { toSessionView } from '../engine/view.js';
import { lifetimeOf } from '../state/lifetime.js';
import type {
  ClockSnapshot,
  SessionEvent,
  SessionState,
  SessionEventType,
  SessionStatus,
  SessionView,
  SyncMode,
} from '../types/session.js';
import { runMigrations } from './migrate.js';
import { pgliteClient, pgliteDataDir, postgresClient, type SqlClient } from './sqlClient.js';

export type AuditStoreName = 'postgres' | 'pglite';

/** One audit row in the API's field names; `state` is the session as it was right after the change. */
export interface AuditEventView {
  session_id: string;
  version: number;
  event: SessionEventType;
  actor: string | null;
  participant_id: string | null;
  /** Server time of the change, epoch ms. */
  at: number;
  clocks_before: ClockSnapshot;
  clocks_after: ClockSnapshot;
  /** The state after the change as clients saw it, computed as of `at` (its server_time). */
  state: SessionView;
  /** When the audit store wrote the row, epoch ms (later than `at` by the delivery delay). */
  recorded_at: number;
}

export interface AuditSessionSummary {
  session_id: string;
  sync_mode: SyncMode;
  status: SessionStatus;
  last_version: number;
  last_event: SessionEventType;
  active_participant_id: string | null;
  participant_ids: string[];
  metadata: Record<string, unknown> | null;
  created_at: number;
  updated_at: number;
}

export interface HistoryPage {
  events: AuditEventView[];
  /** Pass back as the next page's cursor; null on the last page. */
  nextCursor: string | null;
  /** Which lifetime of the id these events are of (1: its first creation); null: no such lifetime recorded. */
  lifetime: number | null;
  /** How many lifetimes the id has had (the last is the current one). */
  lifetimes: number;
}

/** A record that is not a SessionEvent at all: it can never be written, however often it is retried. */
export class AuditRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditRecordError';
  }
}

/**
 * True when no retry can ever write the record: it is not a SessionEvent at all, or the database
 * refuses a value in it (SQLSTATE class 22, data exception: 22P02 invalid input syntax, such as an
 * unpaired surrogate in jsonb; 22021 a NUL in text; 22P05 U+0000 in jsonb). Such a record fails
 * at once and holds up nothing behind it.
 */
export function isRecordError(err: unknown): boolean {
  if (err instanceof AuditRecordError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}

/** Rows per INSERT; 9 parameters a row stays far below PostgreSQL's 65,535 parameter limit. */
const MAX_ROWS_PER_STATEMENT = 500;
const MAX_HISTORY_LIMIT = 1000;

// ---- Connection errors: an outage (retry, spend nothing) versus a record the database refuses ----

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** SQLSTATEs that say "the server is going or not there", not "your statement is wrong". */
const CONNECTION_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '53300', // too_many_connections
]);

/** What pg throws, without a code, when a connection dies or never comes. */
const CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended unexpectedly/i;

/**
 * True when `err` means the database could not be reached (refused, reset, shut down, pool
 * timeout): the write may succeed later unchanged. False for an error about the data itself.
 */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const { code, message, errors, cause } = err as {
    code?: unknown;
    message?: unknown;
    errors?: unknown;
    cause?: unknown;
  };
  if (typeof code === 'string') {
    if (CONNECTION_ERRNOS.has(code) || CONNECTION_SQLSTATES.has(code)) return true;
    // Class 08: connection exception.
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
  // Node reports a failed connect to several addresses as an AggregateError.
  if (Array.isArray(errors) && errors.some((inner) => isConnectionError(inner, depth + 1))) return true;
  return cause !== undefined && isConnectionError(cause, depth + 1);
}

// ---- History cursors: opaque to clients, a version to us ----

/** An opaque page cursor for "after this version". */
export function encodeHistoryCursor(version: number): string {
  return Buffer.from(`v${version}`).toString('base64url');
}

/** The version a cursor stands for, or null when it is not one we issued. */
export function decodeHistoryCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,24}$/.test(cursor)) return null;
  const match = /^v([1-9]\d{0,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) return null;
  const version = Number(match[1]);
  // Only the canonical spelling: no padding or trailing bits smuggled in.
  return encodeHistoryCursor(version) === cursor ? version : null;
}

// ---- Rows ----

interface EventRow {
  session_id: string;
  version: number;
  event_type: SessionEventType;
  actor: string | null;
  participant_id: string | null;
  at_ms: number | string;
  clocks_before: ClockSnapshot;
  clocks_after: ClockSnapshot;
  state: SessionEvent['state'];
  recorded_at_ms: number | string;
}

/** The summary as stored: the same fields, but its times are bigint columns. */
interface SummaryRow extends Omit<AuditSessionSummary, 'created_at' | 'updated_at'> {
  created_at_ms: number | string;
  updated_at_ms: number | string;
}

/** pg returns bigint as a string (it may exceed 2^53); ours are epoch ms, well within. */
const toMs = (value: number | string): number => Number(value);

function toEventView(row: EventRow): AuditEventView {
  const atMs = toMs(row.at_ms);
  return {
    session_id: row.session_id,
    version: row.version,
    event: row.event_type,
    actor: row.actor,
    participant_id: row.participant_id,
    at: atMs,
    clocks_before: row.clocks_before,
    clocks_after: row.clocks_after,
    state: toSessionView(row.state, atMs),
    recorded_at: toMs(row.recorded_at_ms),
  };
}

/** Refuses what is not a SessionEvent before it reaches SQL, with a message that says what is wrong. */
function checkEvent(event: SessionEvent): void {
  const problem =
    typeof event !== 'object' || event === null
      ? 'is not an object'
      : typeof event.sessionId !== 'string'
        ? 'has no sessionId'
        : !Number.isSafeInteger(event.version) || event.version < 1
          ? 'has no valid version'
          : typeof event.state !== 'object' || event.state === null
            ? 'has no state'
            : !Array.isArray(event.state.participants)
              ? 'has a state without participants'
              : null;
  if (problem !== null) {
    const id = typeof event === 'object' && event !== null ? ` (${event.sessionId} v${event.version})` : '';
    throw new AuditRecordError(`audit record${id} ${problem}`);
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The key's order: session, lifetime, version. */
const byLockOrder = (a: SessionEvent, b: SessionEvent): number =>
  compareText(a.sessionId, b.sessionId) ||
  compareText(lifetimeOf(a.state), lifetimeOf(b.state)) ||
  a.version - b.version;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `($1, $2, …), ($10, …)`: one placeholder group per row. */
function valuesList(rowCount: number, columns: readonly string[]): string {
  const rows: string[] = [];
  for (let r = 0; r < rowCount; r++) {
    rows.push(`(${columns.map((cast, c) => `$${r * columns.length + c + 1}${cast}`).join(', ')})`);
  }
  return rows.join(', ');
}

const EVENT_CASTS = ['', '', '::integer', '', '', '', '::bigint', '::jsonb', '::jsonb', '::jsonb'] as const;
const SUMMARY_CASTS = [
  '',
  '',
  '',
  '',
  '::integer',
  '',
  '',
  '::text[]',
  '::jsonb',
  '::bigint',
  '::bigint',
  '::bigint',
] as const;

const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

/** How long a read made while the schema is still being migrated (at startup) waits for it. */
const SCHEMA_WAIT_MS = 5_000;

/** A read that came before the schema was ready: like a database starting up (57P03), so a 503. */
function schemaNotReady(): Error {
  return Object.assign(new Error('the audit schema is still being migrated'), { code: '57P03' });
}

export class AuditStore {
  readonly name: AuditStoreName;
  /** Set by `readsWaitForSchema`: resolved by the first migration that succeeds. */
  private readonly schema: { ready: Promise<void>; resolve: () => void } | null;

  constructor(
    private readonly client: SqlClient,
    options: {
      name?: AuditStoreName;
      /**
       * The service migrates in the background at startup: reads wait (up to 5 s) until the
       * schema is current, and then answer as an unreachable database would.
       */
      readsWaitForSchema?: boolean;
    } = {},
  ) {
    this.name = options.name ?? 'postgres';
    let resolve = (): void => {};
    const ready = new Promise<void>((done) => (resolve = done));
    this.schema = options.readsWaitForSchema === true ? { ready, resolve } : null;
  }

  /** The connection, for the tables that live beside the trail (webhooks). */
  get sql(): SqlClient {
    return this.client;
  }

  /** Brings the schema up to date; safe from several instances at once. */
  async migrate(): Promise<string[]> {
    const applied = await runMigrations(this.client);
    this.schema?.resolve();
    return applied;
  }

  /** Resolves once the schema is current (always, without `readsWaitForSchema`). */
  private async schemaReady(): Promise<void> {
    if (this.schema === null) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(schemaNotReady()), SCHEMA_WAIT_MS);
    });
    try {
      await Promise.race([this.schema.ready, gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Writes the events, one row per session version, and moves each session's summary forward.
   * Idempotent: a version already there is left as it is. Returns the rows newly inserted.
   * Rejects with an error `isConnectionError` recognises when the database is unreachable.
   */
  async write(records: readonly SessionEvent[]): Promise<number> {
    if (records.length === 0) return 0;
    records.forEach(checkEvent);
    // The same lock order in every writer (the key's), so concurrent batches cannot deadlock.
    const events = [...records].sort(byLockOrder);
    // The last record of each lifetime moves that lifetime's summary.
    const latest = new Map<string, SessionEvent>();
    for (const event of events) latest.set(`${event.sessionId}\u0000${lifetimeOf(event.state)}`, event);

    return this.client.transaction(async (tx) => {
      let inserted = 0;
      for (const chunk of chunks(events, MAX_ROWS_PER_STATEMENT)) {
        const params = chunk.flatMap((e) => [
          e.sessionId,
          lifetimeOf(e.state),
          e.version,
          e.type,
          e.actor ?? null,
          e.participantId ?? null,
          e.atMs,
          JSON.stringify(e.clocksBefore ?? {}),
          JSON.stringify(e.clocksAfter ?? {}),
          JSON.stringify(e.state),
        ]);
        const result = await tx.query<{ version: number }>(
          `INSERT INTO audit_events
             (session_id, lifetime_id, version, event_type, actor, participant_id, at_ms,
              clocks_before, clocks_after, state)
           VALUES ${valuesList(chunk.length, EVENT_CASTS)}
           ON CONFLICT (session_id, lifetime_id, version) DO NOTHING
           RETURNING version`,
          params,
        );
        inserted += result.rows.length;
      }

      for (const chunk of chunks([...latest.values()], MAX_ROWS_PER_STATEMENT)) {
        const params = chunk.flatMap((e) => [
          e.sessionId,
          lifetimeOf(e.state),
          e.state.syncMode,
          e.state.status,
          e.version,
          e.type,
          e.state.activeParticipantId ?? null,
          e.state.participants.map((p) => p.participantId),
          json(e.state.metadata),
          e.state.createdAtMs,
          e.state.updatedAtMs,
          deadlineAtMs(e.state),
        ]);
        // Only forward: a record that arrives late (a retry, another worker) never rolls the summary back.
        await tx.query(
          `INSERT INTO audit_sessions
             (session_id, lifetime_id, sync_mode, status, last_version, last_event,
              active_participant_id, participant_ids, metadata, created_at_ms, updated_at_ms,
              deadline_at_ms)
           VALUES ${valuesList(chunk.length, SUMMARY_CASTS)}
           ON CONFLICT (session_id, lifetime_id) DO UPDATE SET
             sync_mode = EXCLUDED.sync_mode,
             status = EXCLUDED.status,
             last_version = EXCLUDED.last_version,
             last_event = EXCLUDED.last_event,
             active_participant_id = EXCLUDED.active_participant_id,
             participant_ids = EXCLUDED.participant_ids,
             metadata = EXCLUDED.metadata,
             created_at_ms = LEAST(audit_sessions.created_at_ms, EXCLUDED.created_at_ms),
             updated_at_ms = EXCLUDED.updated_at_ms,
             deadline_at_ms = EXCLUDED.deadline_at_ms,
             last_recorded_at = now()
           WHERE audit_sessions.last_version < EXCLUDED.last_version`,
          params,
        );
      }
      return inserted;
    });
  }

  /**
   * The session's lifetimes, oldest first (1 is the first creation of the id): each creation
   * after a DELETE is a new one, with a history of its own.
   */
  private async lifetimes(sessionId: string): Promise<string[]> {
    const { rows } = await this.client.query<{ lifetime_id: string }>(
      `SELECT lifetime_id FROM audit_sessions WHERE session_id = $1 ORDER BY created_at_ms, lifetime_id`,
      [sessionId],
    );
    return rows.map((row) => row.lifetime_id);
  }

  /**
   * A lifetime's events (the current one by default), oldest first, `limit` at a time after the
   * version `after`; no events and a null lifetime when that lifetime was never recorded.
   */
  async history(
    sessionId: string,
    page: { after?: number | undefined; limit: number; lifetime?: number | undefined },
  ): Promise<HistoryPage> {
    await this.schemaReady();
    const limit = Math.min(Math.max(Math.trunc(page.limit), 1), MAX_HISTORY_LIMIT);
    const lifetimes = await this.lifetimes(sessionId);
    const lifetime = page.lifetime ?? lifetimes.length;
    const lifetimeId = lifetimes[lifetime - 1];
    if (lifetimeId === undefined) {
      return { events: [], nextCursor: null, lifetime: null, lifetimes: lifetimes.length };
    }
    const { rows } = await this.client.query<EventRow>(
      `SELECT session_id, version, event_type, actor, participant_id, at_ms,
              clocks_before, clocks_after, state,
              (extract(epoch from recorded_at) * 1000)::bigint AS recorded_at_ms
         FROM audit_events
        WHERE session_id = $1 AND lifetime_id = $2 AND version > $3
        ORDER BY version
        LIMIT $4`,
      [sessionId, lifetimeId, page.after ?? 0, limit + 1],
    );
    const more = rows.length > limit;
    const events = rows.slice(0, limit).map(toEventView);
    const last = events[events.length - 1];
    return {
      events,
      nextCursor: more && last ? encodeHistoryCursor(last.version) : null,
      lifetime,
      lifetimes: lifetimes.length,
    };
  }

  /** The summary of the session's current (newest) lifetime, or null when the trail never heard of it. */
  async sessionSummary(sessionId: string): Promise<AuditSessionSummary | null> {
    await this.schemaReady();
    const { rows } = await this.client.query<SummaryRow>(
      `SELECT session_id, sync_mode, status, last_version, last_event, active_participant_id,
              participant_ids, metadata, created_at_ms, updated_at_ms
         FROM audit_sessions WHERE session_id = $1
        ORDER BY created_at_ms DESC, lifetime_id DESC
        LIMIT 1`,
      [sessionId],
    );
    const row = rows[0];
    if (row === undefined) return null;
    const { created_at_ms, updated_at_ms, ...rest } = row;
    return { ...rest, created_at: toMs(created_at_ms), updated_at: toMs(updated_at_ms) };
  }

  /** The state of the session's current lifetime at its last recorded version (whatever its status), or null. */
  async lastState(sessionId: string): Promise<SessionState | null> {
    await this.schemaReady();
    const { rows } = await this.client.query<{ state: SessionState }>(
      `SELECT e.state
         FROM audit_sessions s
         JOIN audit_events e
           ON e.session_id = s.session_id AND e.lifetime_id = s.lifetime_id AND e.version = s.last_version
        WHERE s.session_id = $1
        ORDER BY s.created_at_ms DESC, s.lifetime_id DESC
        LIMIT 1`,
      [sessionId],
    );
    return rows[0]?.state ?? null;
  }

  /**
   * Current lifetimes, live as last recorded, whose clock deadline is at or before `untilMs` or
   * whose last change is at or before `idleBeforeMs` (idle past the limit): at most `limit`.
   */
  async liveSessionsDue(untilMs: number, idleBeforeMs: number, limit: number): Promise<string[]> {
    await this.schemaReady();
    // Two index scans (the live deadline index, updated_at_ms), not one OR over the table.
    const { rows } = await this.client.query<{ session_id: string }>(
      `SELECT s.session_id FROM (
         (SELECT session_id, created_at_ms FROM audit_sessions
           WHERE status IN ('pending', 'running', 'paused') AND deadline_at_ms <= $1
           ORDER BY deadline_at_ms LIMIT $3)
         UNION
         (SELECT session_id, created_at_ms FROM audit_sessions
           WHERE updated_at_ms <= $2 AND status IN ('pending', 'running', 'paused')
           ORDER BY updated_at_ms LIMIT $3)
       ) s
       -- Only current lifetimes: an older one is over, whatever its last record says.
       WHERE NOT EXISTS (SELECT 1 FROM audit_sessions n
                          WHERE n.session_id = s.session_id AND n.created_at_ms > s.created_at_ms)
       LIMIT $3`,
      [untilMs, idleBeforeMs, limit],
    );
    return rows.map((row) => row.session_id);
  }

  /** Rejects when the database does not answer (for /ready). */
  async ping(): Promise<void> {
    await this.client.query('SELECT 1');
  }

  /** For the distributed queue's worker (AuditSink): an outage, not a bad record. */
  isOutage(err: unknown): boolean {
    return isConnectionError(err);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export interface OpenAuditStoreOptions {
  /** PostgreSQL when set; otherwise PGlite under `dataDir`. */
  databaseUrl: string | null;
  /** DATA_DIR; PGlite keeps its files in `<dataDir>/audit`. */
  dataDir: string;
  /** A pooled PostgreSQL connection broke while idle (for logs). */
  onConnectionError?: (err: Error) => void;
}

/** Opens the audit store the configuration asks for and brings its schema up to date. */
export async function openAuditStore(options: OpenAuditStoreOptions): Promise<AuditStore> {
  const store =
    options.databaseUrl !== null
      ? new AuditStore(postgresClient(options.databaseUrl, { onError: options.onConnectionError }), {
          name: 'postgres',
        })
      : new AuditStore(await pgliteClient(pgliteDataDir(options.dataDir)), { name: 'pglite' });
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}
