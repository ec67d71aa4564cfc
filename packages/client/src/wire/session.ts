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
  /** Distributed mode: the session was lost by Redis and restored from the audit trail at its last recorded version. */
  'restored',
  /** Nothing was done to the session for the server's maximum idle time: it ended and was removed. */
  'idle_expired',
] as const;
export type SessionEventType = (typeof SESSION_EVENTS)[number];

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
  /** count_up: the last 100 laps, oldest first (the audit trail keeps every one). */
  laps?: LapView[];
  /** count_up: every lap recorded so far, including those no longer in `laps`. */
  lap_count?: number;
  metadata: Record<string, unknown> | null;
  created_at: number;
  updated_at: number;
}
