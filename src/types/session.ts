// The session model shared by the engine, the stores and the transports; the wire shapes
// (views, inputs, the enums) are the SDK's, re-exported here. Every time is an integer of epoch
// milliseconds (`…AtMs`) or a duration (`…Ms`).
import type {
  ClockStatus,
  DisconnectAction,
  OnExpire,
  PauseReason,
  SessionEventType,
  SessionStatus,
  SyncMode,
} from '@synckairos/client/wire';
import type { ClockCounters, TimeControl } from './timeControl.js';

export {
  CLOCK_STATUSES,
  DISCONNECT_ACTIONS,
  ENDED_STATUSES,
  MAX_DISCONNECT_GRACE_MS,
  MIN_DISCONNECT_GRACE_MS,
  PAUSE_REASONS,
  OVERTIME_PHASE,
  PHASE_NAME_PATTERN,
  type ClockStatus,
  type PhaseFields,
  type PhaseInput,
  ON_EXPIRE_POLICIES,
  SESSION_EVENTS,
  SESSION_STATUSES,
  SYNC_MODES,
  type CreateSessionInput,
  type CueInput,
  type CueView,
  type GroupInput,
  type GroupView,
  type LapView,
  type OnDisconnect,
  type OnExpire,
  type PauseReason,
  type ParticipantInput,
  type ParticipantView,
  type SessionEventType,
  type SessionStatus,
  type SessionView,
  type SyncMode,
} from '@synckairos/client/wire';

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

/** What a clock keeps of its phases: the last one announced (a phase_changed or overtime event). */
export interface PhaseMark {
  /** Absent or null before the first threshold. */
  phase?: string | null;
}

/** concurrent sessions: a participant's (per_group: a group's) own clock status; absent otherwise. */
export interface OwnClock extends PhaseMark {
  clockStatus?: ClockStatus;
}

export interface ParticipantState extends ClockCounters, LagCounters, OwnClock {
  participantId: string;
  groupId: string | null;
  /** per_participant: the bank as of the anchor. Unused (0) in the other modes. */
  bankMs: number;
  /** per_participant: this participant's own time control (a handicap), overriding the session's. */
  timeControl?: TimeControl;
  /** per_participant: this participant's own total_time_ms (a handicap), kept so a reset restores it. */
  ownTotalTimeMs?: number;
  /** Time this participant has been active, as of the anchor. */
  usedMs: number;
  /** Turns this participant has finished (switch away, cycle advanced). */
  cycleCount: number;
  hasExpired: boolean;
}

export interface GroupState extends ClockCounters, OwnClock {
  groupId: string;
  /** The group's bank as of the anchor. */
  bankMs: number;
  /** This group's own time control, overriding the session's. */
  timeControl?: TimeControl;
  /** This group's own total_time_ms (groups[]), kept so a reset restores it. */
  ownTotalTimeMs?: number;
  usedMs: number;
  hasExpired: boolean;
}

/** per_cycle cue lists: one cue of the run sheet. */
export interface Cue {
  label: string;
  participantId: string | null;
  plannedMs: number;
  /** Wall-clock time from the cue's start to its end; null until it ends (or when it was skipped). */
  actualMs: number | null;
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
  /** per_participant, per_group: every clock runs at once. Absent when off. */
  concurrent?: true;
  /** Phase thresholds, strictly decreasing. Absent when the session has none. */
  phases?: Phase[];
  /** The disconnect policy. Absent when the session has none (nothing watches its participants' connections). */
  onDisconnect?: { graceMs: number; action: DisconnectAction };
}

/** A pause the server made by itself, and for whom. */
export interface SystemPause {
  reason: PauseReason;
  participantId: string;
}

export interface Phase {
  name: string;
  remainingMs: number;
}

/**
 * The stored state. Times are anchored, never counted: while running, the active clock has
 * `serverNowMs - anchorAtMs` pending on top of the banks stored here.
 */
export interface SessionState extends PhaseMark {
  sessionId: string;
  /**
   * This creation of the id, random (state/lifetime.ts): the audit trail keys every record by
   * it, so an id reused after DELETE starts a history of its own. Absent in older states.
   */
  lifetime?: string;
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
  /** per_cycle cue lists: the run sheet. Absent in sessions without one. */
  cues?: Cue[];
  /** per_cycle cue lists: the running cue (before start: the first). */
  cueIndex?: number;
  /** global: the session bank as of the anchor. */
  sessionBankMs: number;
  /** count_up: elapsed time as of the anchor. */
  elapsedMs: number;
  /** count_up: elapsed time when the current lap began. */
  lapStartElapsedMs: number;
  /** count_up: the last MAX_LAPS laps, oldest first (the audit trail has every one). */
  laps: Lap[];
  /** count_up: every lap recorded, including those no longer in `laps`. Absent in older states. */
  lapCount?: number;
  startAtMs: number | null;
  createdAtMs: number;
  updatedAtMs: number;
  /**
   * When a client last acted on the session (created it, or a command): its idle time runs
   * from here (engine/idle.ts); expiries do not count. Absent in older states (updatedAtMs then).
   */
  lastCommandAtMs?: number;
  lastEvent: SessionEventType;
  /** Set on the version of a pause the server made by itself; every later version clears it. */
  systemPause?: SystemPause;
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
  | {
      type: 'switch';
      nextParticipantId?: string | undefined;
      /** per_cycle cue lists: the cue to run next. */
      nextCycleIndex?: number | undefined;
      transit?: MoveTransit | undefined;
    }
  | ({
      type: 'pause';
      /** The server's own pause (never from a client): recorded in the state as why. */
      systemPause?: SystemPause | undefined;
    } & OneClock)
  | ({ type: 'resume' } & OneClock)
  | ({ type: 'complete' } & OneClock)
  | { type: 'adjust'; participantId?: string | undefined; groupId?: string | undefined; deltaMs: number }
  | { type: 'cancel' }
  | { type: 'reset' };

/** concurrent sessions: the one clock a command acts on; the whole session without either. */
export interface OneClock {
  participantId?: string | undefined;
  groupId?: string | undefined;
}

export type SessionCommandType = SessionCommand['type'];
