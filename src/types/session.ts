// The session model shared by the engine, the stores, the transports and the client SDK.
// Every time is an integer of epoch milliseconds (`…AtMs`) or a duration (`…Ms`).
import type { ClockCounters, ClockFaceFields, TimeControl } from './timeControl.js';

export const SYNC_MODES = ['per_participant', 'per_cycle', 'per_group', 'global', 'count_up'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export const SESSION_STATUSES = [
  'pending',
  'running',
  'paused',
  'expired',
  'completed',
  'cancelled',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Statuses from which nothing moves again. */
export const ENDED_STATUSES: readonly SessionStatus[] = ['expired', 'completed', 'cancelled'];

export const ON_EXPIRE_POLICIES = ['end_session', 'auto_advance', 'skip_participant'] as const;
export type OnExpire = (typeof ON_EXPIRE_POLICIES)[number];

export const SESSION_EVENTS = [
  'created',
  'started',
  'switched',
  'paused',
  'resumed',
  'adjusted',
  'completed',
  'cancelled',
  /** The session ran out of time (on_expire end_session, count_up max_time_ms). */
  'expired',
  /** A participant (or its group) ran out and is out; the rest go on (skip_participant). */
  'participant_expired',
  /** A per_cycle cycle ran out and the next one started at the deadline (auto_advance). */
  'cycle_advanced',
] as const;
export type SessionEventType = (typeof SESSION_EVENTS)[number];

/**
 * Lag compensation's per-participant record (sessions with `lag_compensation` only): the
 * quota left and what the participant's last move was credited.
 */
export interface LagCounters {
  /** The compensation credit still available (lichess's LagTracker quota). */
  lagQuotaMs?: number;
  /** What the quota gains with each move; set once at creation from the starting clock. */
  lagQuotaGainMs?: number;
  /** The last move's transit time as the server took it. */
  lagMs?: number;
  /** What the last move was not charged: min(lag, quota). */
  lagCompMs?: number;
}

export interface ParticipantState extends ClockCounters, LagCounters {
  participantId: string;
  groupId: string | null;
  /** per_participant: the bank as of the anchor. Unused (0) in the other modes. */
  bankMs: number;
  /** per_participant: this participant's own time control (a handicap), overriding the session's. */
  timeControl?: TimeControl;
  /** Time this participant has been active, as of the anchor. */
  usedMs: number;
  /** Turns this participant has finished (switch away, cycle advanced). */
  cycleCount: number;
  hasExpired: boolean;
}

export interface GroupState extends ClockCounters {
  groupId: string;
  /** The group's bank as of the anchor. */
  bankMs: number;
  /** This group's own time control, overriding the session's. */
  timeControl?: TimeControl;
  usedMs: number;
  hasExpired: boolean;
}

export interface Lap {
  participantId: string;
  /** Length of this lap. */
  lapMs: number;
  /** Session elapsed time when the lap was recorded. */
  elapsedMs: number;
}

export interface SessionConfig {
  /** Default bank: each participant (per_participant), group (per_group) or the session (global). */
  totalTimeMs: number | null;
  timePerCycleMs: number | null;
  incrementMs: number;
  maxTimeMs: number | null;
  onExpire: OnExpire;
  /** per_participant, per_group: the session-wide time control; without one, total_time_ms + increment_ms (fischer). */
  timeControl?: TimeControl;
  /** per_participant, per_group: moves over the WebSocket are charged less their transit time. Absent when off. */
  lagCompensation?: true;
}

/**
 * The stored state. Times are anchored, never counted: while running, the active clock has
 * `serverNowMs - anchorAtMs` pending on top of the banks stored here.
 */
export interface SessionState {
  sessionId: string;
  syncMode: SyncMode;
  status: SessionStatus;
  version: number;
  config: SessionConfig;
  participants: ParticipantState[];
  /** per_group only; empty otherwise. */
  groups: GroupState[];
  activeParticipantId: string | null;
  /** Start of the running period (may be in the future after `start_at`); null unless running. */
  anchorAtMs: number | null;
  /** Start of the active participant's current turn (unchanged by pause and resume). */
  cycleStartedAtMs: number | null;
  /** per_cycle: what is left of the current cycle as of the anchor. */
  cycleBankMs: number;
  /** global: the session bank as of the anchor. */
  sessionBankMs: number;
  /** count_up: elapsed time as of the anchor. */
  elapsedMs: number;
  /** count_up: elapsed time when the current lap began. */
  lapStartElapsedMs: number;
  laps: Lap[];
  startAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
  lastEvent: SessionEventType;
  metadata: Record<string, unknown> | null;
}

/** Every clock's remaining time at one instant (null: a count_up participant without a limit). */
export interface ClockSnapshot {
  participants: Record<string, number | null>;
  /** per_group only. */
  groups?: Record<string, number>;
  /** global: the session bank; count_up: what is left to max_time_ms. */
  session?: number | null;
}

/**
 * One version's change, as the engine reports it; the audit trail stores one per version.
 * `clocksBefore`/`clocksAfter` are read at `atMs`, and `state` is the state after the change.
 */
export interface SessionEvent {
  sessionId: string;
  version: number;
  type: SessionEventType;
  /** Server time at which the change took effect (a deadline for expiries). */
  atMs: number;
  /** The participant the change concerned (the one who switched, expired, …). */
  participantId: string | null;
  actor: string | null;
  clocksBefore: ClockSnapshot;
  clocksAfter: ClockSnapshot;
  state: SessionState;
}

// ---- Input ----

export interface ParticipantInput {
  participant_id: string;
  group_id?: string | undefined;
  total_time_ms?: number | undefined;
  time_control?: TimeControl | undefined;
}

export interface GroupInput {
  group_id: string;
  total_time_ms?: number | undefined;
  time_control?: TimeControl | undefined;
}

export interface CreateSessionInput {
  session_id?: string | undefined;
  sync_mode: SyncMode;
  participants: ParticipantInput[];
  groups?: GroupInput[] | undefined;
  total_time_ms?: number | undefined;
  time_per_cycle_ms?: number | undefined;
  increment_ms?: number | undefined;
  max_time_ms?: number | undefined;
  on_expire?: OnExpire | undefined;
  time_control?: TimeControl | undefined;
  lag_compensation?: boolean | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/**
 * What the transport measured of a move's transit, for lag compensation. Only the WebSocket
 * server sets it, from its own round-trip measurement; REST switches carry none.
 */
export interface MoveTransit {
  /** The mover's connection round trip, as the server measured it with protocol pings (0: not yet measured). */
  roundTripMs: number;
  /** The think time the client reported for this move, if it did. */
  thinkMs?: number | undefined;
}

export type SessionCommand =
  | { type: 'start'; startAtMs?: number | undefined }
  | { type: 'switch'; nextParticipantId?: string | undefined; transit?: MoveTransit | undefined }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'complete' }
  | { type: 'adjust'; participantId?: string | undefined; groupId?: string | undefined; deltaMs: number }
  | { type: 'cancel' };

export type SessionCommandType = SessionCommand['type'];

// ---- Output: what REST and WebSocket clients receive ----

/** A clock face: its bank's face fields (per_group: the group's) and its own time control, if any. */
export interface ParticipantView extends ClockFaceFields {
  participant_id: string;
  group_id: string | null;
  /** As of `server_time`, the bank as the control shows it; null in count_up without max_time_ms. */
  time_remaining_ms: number | null;
  time_used_ms: number;
  cycle_count: number;
  is_active: boolean;
  has_expired: boolean;
  time_control?: TimeControl;
  /** lag_compensation sessions: this participant's last move's transit time as the server took it. */
  lag_ms?: number;
  /** lag_compensation sessions: what that move was not charged. */
  lag_comp_ms?: number;
  /** lag_compensation sessions: the compensation credit left. */
  lag_quota_ms?: number;
}

export interface GroupView extends ClockFaceFields {
  group_id: string;
  time_remaining_ms: number;
  time_used_ms: number;
  has_expired: boolean;
  time_control?: TimeControl;
}

export interface LapView {
  participant_id: string;
  lap_ms: number;
  elapsed_ms: number;
}

export interface SessionView {
  session_id: string;
  sync_mode: SyncMode;
  status: SessionStatus;
  version: number;
  event: SessionEventType;
  server_time: number;
  active_participant_id: string | null;
  cycle_started_at: number | null;
  start_at: number | null;
  /** The true flag instant of the running clock (after any delay and periods), or when count_up reaches max_time_ms. */
  deadline_at: number | null;
  total_time_ms: number | null;
  time_per_cycle_ms: number | null;
  increment_ms: number;
  max_time_ms: number | null;
  on_expire: OnExpire;
  /** The session-wide time control, when the session was created with one. */
  time_control?: TimeControl;
  /** Present (true) when moves over the WebSocket are compensated for their transit time. */
  lag_compensation?: true;
  participants: ParticipantView[];
  groups?: GroupView[];
  /** global: the session bank; count_up: what is left to max_time_ms (null without one). */
  time_remaining_ms?: number | null;
  elapsed_ms?: number;
  laps?: LapView[];
  metadata: Record<string, unknown> | null;
  created_at: number;
  updated_at: number;
}
