// Canadian overtime: main time first, then moves_per_period moves in each period_ms; done in
// time, the period starts afresh. The flag falls when a period runs out.
import type { CanadianControl } from '../../wire/timeControl.js';
import { runMainTime, type ClockRule } from './rule.js';

export const canadian: ClockRule<CanadianControl> = {
  bankOnly: false,
  waitingGains: false,
  start: (control) => ({
    bankMs: control.initial_ms,
    periodLeftMs: control.period_ms,
    periodMovesLeft: control.moves_per_period,
  }),
  run(clock, _control, elapsedMs) {
    const restMs = runMainTime(clock, elapsedMs);
    if (restMs > 0) clock.periodLeftMs = Math.max(0, (clock.periodLeftMs ?? 0) - restMs);
  },
  endTurn(clock, control) {
    // Moves made during main time do not count toward a period.
    if (clock.bankMs > 0) return;
    const movesLeft = (clock.periodMovesLeft ?? control.moves_per_period) - 1;
    if (movesLeft > 0) {
      clock.periodMovesLeft = movesLeft;
      return;
    }
    clock.periodMovesLeft = control.moves_per_period;
    clock.periodLeftMs = control.period_ms;
  },
  flagInMs: (clock) => clock.bankMs + (clock.periodLeftMs ?? 0),
  issues: () => [],
};
