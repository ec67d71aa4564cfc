// One time control's rules over a bank's counters (src/types/timeControl.ts), the same for the
// engine and the SDK. The methods change only the counters they are given, never anything else.
import type { ValidationIssue } from '../../wire/errors.js';
import type { ClockCounters, TimeControl } from '../../wire/timeControl.js';

export interface ClockRule<C extends TimeControl | undefined> {
  /** The counters of a fresh clock under this control. */
  start(control: NonNullable<C>): ClockCounters;
  /** Runs `elapsedMs` more of the clock's turn, in place. */
  run(clock: ClockCounters, control: C, elapsedMs: number): void;
  /**
   * A move made in time ends the clock's turn (increment, give-back, refilled period, stage).
   * `sessionIncrementMs` is the session's increment_ms, which the total_time_ms shorthand uses.
   */
  endTurn(clock: ClockCounters, control: C, sessionIncrementMs: number): void;
  /** How much longer the clock can run before its flag falls. */
  flagInMs(clock: ClockCounters, control: C): number;
  /** Running only takes from the bank: the face is the bank alone, read without a copy. */
  readonly bankOnly: boolean;
  /** hourglass: a waiting clock gains what the running one spends. */
  readonly waitingGains: boolean;
  /** Rules between the control's fields (each field's own type and range are checked before). */
  issues(control: NonNullable<C>): ValidationIssue[];
}

/** Takes `elapsedMs` from the turn's delay first, if the clock has one, then from the bank (simple delay). */
export function runAfterDelay(clock: ClockCounters, elapsedMs: number): void {
  const delayLeftMs = clock.delayLeftMs;
  if (delayLeftMs === undefined) {
    clock.bankMs -= elapsedMs;
    return;
  }
  const fromDelayMs = Math.min(delayLeftMs, elapsedMs);
  clock.delayLeftMs = delayLeftMs - fromDelayMs;
  clock.bankMs -= elapsedMs - fromDelayMs;
}

/** Takes `elapsedMs` from the main time first; returns what is left for the periods. */
export function runMainTime(clock: ClockCounters, elapsedMs: number): number {
  const fromBankMs = Math.min(Math.max(0, clock.bankMs), elapsedMs);
  clock.bankMs -= fromBankMs;
  return elapsedMs - fromBankMs;
}
