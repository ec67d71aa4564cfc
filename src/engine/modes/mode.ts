// What a sync mode decides, behind one interface: which fields it takes, which bank runs, what
// a turn end does, what runs out and how clients see it. One file per mode, looked up in
// ./index.ts; the rest of the engine asks the mode and never switches on sync_mode itself.
import type { ValidationIssue } from '../../types/errors.js';
import type {
  CreateSessionInput,
  OnExpire,
  ParticipantState,
  ParticipantView,
  PhaseMark,
  SessionCommand,
  SessionState,
  SessionView,
} from '../../types/session.js';

/** Top-level create fields that belong to some modes only. */
export const MODE_FIELDS = [
  'total_time_ms',
  'time_per_cycle_ms',
  'cycles',
  'increment_ms',
  'max_time_ms',
  'groups',
  'time_control',
  'lag_compensation',
  'concurrent',
] as const;
export type ModeField = (typeof MODE_FIELDS)[number];

/** Fields a participant may carry for itself in some modes only. */
export const OWN_PARTICIPANT_FIELDS = ['total_time_ms', 'time_control'] as const;
export type OwnParticipantField = (typeof OWN_PARTICIPANT_FIELDS)[number];

export type AdjustCommand = Extract<SessionCommand, { type: 'adjust' }>;

/** The bank an arbiter's adjust changes, and how far it may go. */
export interface AdjustableBank {
  name: string;
  get(): number;
  set(valueMs: number): void;
  limitMs: number;
}

/** One clock a mode keeps, as phases, overtime and deadlines see it. */
export interface ModeClock {
  /** per_participant: the participant the clock is; null for a group's or the session's one clock. */
  participantId: string | null;
  /** per_group: the group the clock is. */
  groupId: string | null;
  /** How long it can run from the anchor before it reaches zero (negative in overtime); null: no limit. */
  flagInMs: number | null;
  /** Whether its time moves while the session runs (the active one; concurrent: each running one). */
  runs: boolean;
  /** Out of play (ran out, completed): nothing more is due for it. */
  out: boolean;
  /** Where the last phase announced for it is kept. */
  mark: PhaseMark;
}

/** A clock's remaining time as views show it: stopped at zero, or below it in overtime. */
export function shownRemainingMs(state: SessionState, remainingMs: number): number {
  return state.config.onExpire === 'overtime' ? remainingMs : Math.max(0, remainingMs);
}

export interface SyncModeRules {
  // ---- Create ----
  /** The mode fields this mode reads; any other is refused rather than silently dropped. */
  readonly fields: ReadonlySet<ModeField>;
  /** The participant fields this mode reads. */
  readonly participantFields: ReadonlySet<OwnParticipantField>;
  /** The on_expire policies that make sense here (end_session, the default, is always one). */
  readonly onExpire: readonly OnExpire[];
  /** What the mode requires of a create request beyond each field's own type and range. */
  issues(input: CreateSessionInput): ValidationIssue[];
  /** Fills the mode's clocks into the first version of a session. */
  initialize(state: SessionState, input: CreateSessionInput): void;

  // ---- Time ----
  /** Every clock the session keeps, in participant (group) order. */
  clocks(state: SessionState): ModeClock[];
  /** Moves `elapsedMs` of the active participant's pending time into the bank that runs. */
  charge(state: SessionState, active: ParticipantState | undefined, elapsedMs: number): void;
  /** A move made in time: what `finishing`'s turn leaves behind (increment, lap, …). */
  endTurn(state: SessionState, finishing: ParticipantState): void;
  /**
   * Whether a switch with nobody else left ends the turn in place (count_up: a lap) instead of
   * being refused; only where ending a turn credits no time.
   */
  readonly switchesInPlaceWhenAlone: boolean;
  /** A new turn began for the active participant. */
  beginTurn(state: SessionState): void;
  /** The running clock reached zero: marks who is out. */
  markOut(state: SessionState): void;
  /** The bank an adjust changes; throws when the command names none that the mode has. */
  adjustableBank(
    state: SessionState,
    command: AdjustCommand,
    participant: ParticipantState | undefined,
  ): AdjustableBank;

  // ---- View ----
  /** Writes `p`'s clock (time_remaining_ms and any face field) into its view; `pendingMs` runs on the active bank. */
  writeParticipantClock(
    state: SessionState,
    p: ParticipantState,
    active: ParticipantState | undefined,
    pendingMs: number,
    out: ParticipantView,
  ): void;
  /** Adds the mode's own view fields (groups, the session bank, laps). */
  addViewFields(state: SessionState, view: SessionView, pendingMs: number): void;
}
