// The session's wire shapes: what a client sends to create one and what REST and WebSocket
// clients receive. Every time is an integer of epoch milliseconds or a duration (`…_ms`).
import type { ClockFaceFields, TimeControl } from './timeControl.js';

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

export const ON_EXPIRE_POLICIES = ['end_session', 'auto_advance', 'skip_participant', 'overtime'] as const;
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
  /** A clock crossed one of the session's phase thresholds (`phases`), at the crossing itself. */
  'phase_changed',
  /** A clock reached zero and counts on below it (on_expire overtime); the session goes on. */
  'overtime',
  /** Distributed mode: the session was lost by Redis and restored from the audit trail at its last recorded version. */
  'restored',
  /** Nothing was done to the session for the server's maximum idle time: it ended and was removed. */
  'idle_expired',
  /** An admin reset the session: back to pending with the clocks it was created with. */
  'reset',
] as const;
export type SessionEventType = (typeof SESSION_EVENTS)[number];

/** concurrent sessions: where each participant's (or group's) own clock is. */
export const CLOCK_STATUSES = ['pending', 'running', 'paused', 'expired', 'completed'] as const;
export type ClockStatus = (typeof CLOCK_STATUSES)[number];

/** What the server does with a participant whose last connection is gone (on_disconnect.action). */
export const DISCONNECT_ACTIONS = ['pause'] as const;
export type DisconnectAction = (typeof DISCONNECT_ACTIONS)[number];
/** on_disconnect.grace_ms bounds. */
export const MIN_DISCONNECT_GRACE_MS = 1000;
export const MAX_DISCONNECT_GRACE_MS = 3_600_000;

/** Disconnect policy (needs participant tokens): a clock whose participant is gone this long is paused. */
export interface OnDisconnect {
  grace_ms: number;
  action: DisconnectAction;
}

/** Why the server itself paused a clock (no client sends one). */
export const PAUSE_REASONS = ['disconnected'] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];

/** Phase names: short, lower-case, safe in a CSS class or a metric label. */
export const PHASE_NAME_PATTERN = /^[a-z0-9_-]{1,32}$/;
/** The phase of a clock that runs on below zero (on_expire overtime). */
export const OVERTIME_PHASE = 'overtime';

/** A named stretch of a clock's last `remaining_ms` (thresholds strictly decreasing). */
export interface PhaseInput {
  name: string;
  remaining_ms: number;
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

/** per_cycle: one cue of a run sheet; the cue's participant is active while it runs. */
export interface CueInput {
  label: string;
  duration_ms: number;
  participant_id?: string | undefined;
}

export interface CreateSessionInput {
  session_id?: string | undefined;
  sync_mode: SyncMode;
  participants: ParticipantInput[];
  groups?: GroupInput[] | undefined;
  total_time_ms?: number | undefined;
  time_per_cycle_ms?: number | undefined;
  /** per_cycle: a cue list (run sheet), instead of one time_per_cycle_ms. */
  cycles?: CueInput[] | undefined;
  increment_ms?: number | undefined;
  max_time_ms?: number | undefined;
  on_expire?: OnExpire | undefined;
  time_control?: TimeControl | undefined;
  lag_compensation?: boolean | undefined;
  /** per_participant, per_group: every clock runs at once from start (an exam room). */
  concurrent?: boolean | undefined;
  phases?: PhaseInput[] | undefined;
  /** Pauses the clock of a participant whose last connection is gone for grace_ms (participant tokens only). */
  on_disconnect?: OnDisconnect | undefined;
  metadata?: Record<string, unknown> | undefined;
}

// ---- Output: what REST and WebSocket clients receive ----

/** What every clock shows of the session's phases (sessions with `phases` or on_expire overtime). */
export interface PhaseFields {
  /** The last threshold this clock crossed, `overtime` below zero, or null before the first. */
  phase?: string | null;
  /** Server time of this clock's next crossing while it runs; null when none is ahead or it waits. */
  next_phase_at?: number | null;
}

/** A clock face: its bank's face fields (per_group: the group's) and its own time control, if any. */
export interface ParticipantView extends ClockFaceFields, PhaseFields {
  participant_id: string;
  group_id: string | null;
  /** As of `server_time`, the bank as the control shows it (negative in overtime); null in count_up without max_time_ms. */
  time_remaining_ms: number | null;
  time_used_ms: number;
  cycle_count: number;
  is_active: boolean;
  has_expired: boolean;
  /** concurrent sessions: this participant's own clock (per_group: its group's). */
  status?: ClockStatus;
  time_control?: TimeControl;
  /** lag_compensation sessions: this participant's last move's transit time as the server took it. */
  lag_ms?: number;
  /** lag_compensation sessions: what that move was not charged. */
  lag_comp_ms?: number;
  /** lag_compensation sessions: the compensation credit left. */
  lag_quota_ms?: number;
}

export interface GroupView extends ClockFaceFields, PhaseFields {
  group_id: string;
  time_remaining_ms: number;
  time_used_ms: number;
  has_expired: boolean;
  /** concurrent sessions: this group's own clock. */
  status?: ClockStatus;
  time_control?: TimeControl;
}

export interface LapView {
  participant_id: string;
  lap_ms: number;
  elapsed_ms: number;
}

/** per_cycle cue lists: one cue as planned and, once it ended, as it ran. */
export interface CueView {
  label: string;
  participant_id: string | null;
  planned_ms: number;
  /** Wall-clock time the cue ran, from its start to its end (pauses included); null until it ends. */
  actual_ms: number | null;
  /** actual_ms − planned_ms: positive when it ran over; null until it ends. */
  over_under_ms: number | null;
}

/** Session-level phase fields are the one clock's of global, per_cycle and count_up. */
export interface SessionView extends PhaseFields {
  session_id: string;
  sync_mode: SyncMode;
  status: SessionStatus;
  version: number;
  event: SessionEventType;
  server_time: number;
  active_participant_id: string | null;
  cycle_started_at: number | null;
  start_at: number | null;
  /**
   * The true flag instant of the running clock (after any delay and periods), or when count_up
   * reaches max_time_ms; concurrent: the earliest of the running clocks'. Null for a clock in overtime.
   */
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
  /** Present (true) when every participant's (or group's) clock runs at once. */
  concurrent?: true;
  /** The session's phase thresholds, as created. */
  phases?: PhaseInput[];
  /** The disconnect policy, as created. */
  on_disconnect?: OnDisconnect;
  /** Set on the version the server paused by itself (event `paused`): why. */
  pause_reason?: PauseReason;
  /** With pause_reason: the participant it was for (the one whose connections were gone). */
  pause_participant_id?: string;
  participants: ParticipantView[];
  groups?: GroupView[];
  /** global: the session bank; count_up: what is left to max_time_ms (null without one); per_cycle cue lists: the running cue's. */
  time_remaining_ms?: number | null;
  elapsed_ms?: number;
  /** count_up: the last 100 laps, oldest first (the audit trail keeps every one). */
  laps?: LapView[];
  /** count_up: every lap recorded so far, including those no longer in `laps`. */
  lap_count?: number;
  /** per_cycle cue lists: the running cue (the next to run before start), from 0. */
  cycle_index?: number;
  /** per_cycle cue lists: every cue, planned and as it ran. */
  cycles?: CueView[];
  /** per_cycle cue lists: the drift, the sum of over_under_ms of the cues that ended. */
  over_under_ms?: number;
  metadata: Record<string, unknown> | null;
  created_at: number;
  updated_at: number;
}
