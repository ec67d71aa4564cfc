// A clock face read from a bank's counters, and the counters read back from a face: the engine
// writes views with the first, the SDK rebuilds a clock from a view with the second and runs it
// on with the same rules, so both show the same time at the same instant.
import type { ClockCounters, ClockFaceFields, TimeControl } from '../wire/timeControl.js';
import { ruleOf } from './controls/index.js';

export interface ClockFace extends ClockFaceFields {
  time_remaining_ms: number | null;
}

/**
 * Writes the face of a clock that has run `runMs` more of its turn (0 for a clock that waits)
 * into `out`; `gainedMs` is what a waiting hourglass clock gained meanwhile. `overtime`: a plain
 * bank shows its time below zero instead of stopping there (on_expire overtime).
 */
export function writeFace(
  out: ClockFace,
  clock: ClockCounters,
  control: TimeControl | undefined,
  runMs: number,
  gainedMs = 0,
  overtime = false,
): void {
  const rule = ruleOf(control);
  if (rule.bankOnly) {
    // The common case (a plain bank): no copy to run.
    const bankMs = clock.bankMs - runMs + gainedMs;
    out.time_remaining_ms = overtime ? bankMs : Math.max(0, bankMs);
    return;
  }
  const shown = runMs > 0 ? ranOn(clock, control, runMs) : clock;
  out.time_remaining_ms = Math.max(0, shown.bankMs);
  if (shown.delayLeftMs !== undefined) out.delay_remaining_ms = shown.delayLeftMs;
  if (shown.periodsLeft !== undefined) out.periods_left = shown.periodsLeft;
  if (shown.periodLeftMs !== undefined) out.period_remaining_ms = shown.periodLeftMs;
  if (shown.periodMovesLeft !== undefined) out.moves_left_in_period = shown.periodMovesLeft;
  if (shown.stageIndex !== undefined) {
    out.stage_index = shown.stageIndex;
    out.moves_to_next_stage = shown.stageMovesLeft ?? null;
  }
}

/** The counters behind a face (a view's participant or group): writeFace read backwards. */
export function countersOfFace(face: ClockFace): ClockCounters {
  const clock: ClockCounters = { bankMs: face.time_remaining_ms ?? 0 };
  if (face.delay_remaining_ms !== undefined) clock.delayLeftMs = face.delay_remaining_ms;
  if (face.periods_left !== undefined) clock.periodsLeft = face.periods_left;
  if (face.period_remaining_ms !== undefined) clock.periodLeftMs = face.period_remaining_ms;
  if (face.moves_left_in_period !== undefined) clock.periodMovesLeft = face.moves_left_in_period;
  if (face.stage_index !== undefined) clock.stageIndex = face.stage_index;
  if (face.moves_to_next_stage !== undefined && face.moves_to_next_stage !== null) {
    clock.stageMovesLeft = face.moves_to_next_stage;
  }
  return clock;
}

/** A copy of `clock` after `runMs` more of its turn. */
export function ranOn(clock: ClockCounters, control: TimeControl | undefined, runMs: number): ClockCounters {
  const copy = { ...clock };
  ruleOf(control).run(copy, control, runMs);
  return copy;
}

/** How much longer a clock can run before its flag falls. */
export function flagInMs(clock: ClockCounters, control: TimeControl | undefined): number {
  return ruleOf(control).flagInMs(clock, control);
}
