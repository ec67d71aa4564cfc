// Time controls of the bank modes (per_participant, per_group). A control is kept in the API's
// own shape, as metadata is: the create request, the stored state, the view and the SDK's clock
// formulas share this one type, so no layer translates it.

export const TIME_CONTROL_TYPES = [
  'fischer',
  'bronstein',
  'delay',
  'stages',
  'byoyomi',
  'canadian',
  'hourglass',
] as const;
export type TimeControlType = (typeof TIME_CONTROL_TYPES)[number];

/** After a move made in time, add `increment_ms` (never beyond `max_ms`). */
export interface FischerControl {
  type: 'fischer';
  initial_ms: number;
  increment_ms: number;
  max_ms?: number | undefined;
}

/** The clock runs at once; the move gives back what it used of `delay_ms`. */
export interface BronsteinControl {
  type: 'bronstein';
  initial_ms: number;
  delay_ms: number;
}

/** Simple (US) delay: the bank does not move for the first `delay_ms` of a turn. */
export interface DelayControl {
  type: 'delay';
  initial_ms: number;
  delay_ms: number;
}

export interface Stage {
  /** Moves of this stage; the last stage has none (it lasts until the end). */
  moves?: number | undefined;
  /** Added to the bank when the stage begins (the first stage's is the initial time). */
  time_ms: number;
  /** Fischer increment of each move made in this stage. */
  increment_ms?: number | undefined;
  /** Simple delay of each turn in this stage. */
  delay_ms?: number | undefined;
}

export interface StagesControl {
  type: 'stages';
  stages: Stage[];
}

/** Main time, then `periods` periods of `period_ms`: a move inside a period refills it. */
export interface ByoyomiControl {
  type: 'byoyomi';
  initial_ms: number;
  period_ms: number;
  periods: number;
}

/** Main time, then `moves_per_period` moves in each `period_ms`. */
export interface CanadianControl {
  type: 'canadian';
  initial_ms: number;
  period_ms: number;
  moves_per_period: number;
}

/** Two clocks: what the mover loses, the other gains. */
export interface HourglassControl {
  type: 'hourglass';
  initial_ms: number;
}

export type TimeControl =
  | FischerControl
  | BronsteinControl
  | DelayControl
  | StagesControl
  | ByoyomiControl
  | CanadianControl
  | HourglassControl;

/**
 * A bank and the counters its time control keeps beside it, as of the anchor. Each counter is
 * present only when the control needs it, so a plain bank stores nothing more.
 */
export interface ClockCounters {
  bankMs: number;
  /** delay, bronstein, stages: what is left of this turn's delay (a waiting clock holds its next turn's). */
  delayLeftMs?: number;
  /** byoyomi: periods left, the current one included. */
  periodsLeft?: number;
  /** byoyomi, canadian: what is left of the current period. */
  periodLeftMs?: number;
  /** canadian: moves still to make in the current period. */
  periodMovesLeft?: number;
  /** stages: the current stage. */
  stageIndex?: number;
  /** stages: moves still to make before the next stage; absent in the last stage. */
  stageMovesLeft?: number;
}

/** What a clock face needs beyond `time_remaining_ms`; each field only where the control has it. */
export interface ClockFaceFields {
  /** delay, bronstein, stages: what is left of the current turn's delay (the full delay for a waiting clock). */
  delay_remaining_ms?: number;
  /** byoyomi: periods left, the current one included. */
  periods_left?: number;
  /** byoyomi, canadian: what is left of the current period (the full period during main time). */
  period_remaining_ms?: number;
  /** canadian: moves still to make in the current period. */
  moves_left_in_period?: number;
  /** stages: the current stage, from 0. */
  stage_index?: number;
  /** stages: moves still to make before the next stage's time is added; null in the last stage. */
  moves_to_next_stage?: number | null;
}
