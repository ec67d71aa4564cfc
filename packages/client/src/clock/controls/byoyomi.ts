// Byo-yomi (as lishogi and OGS count it): main time first, then `periods` periods of
// period_ms. A move inside a period refills it; each period that runs out costs one; the flag
// falls when the last one runs out. A period that reaches exactly zero has run out.
import type { ByoyomiControl } from '../../wire/timeControl.js';
import { runMainTime, type ClockRule } from './rule.js';

export const byoyomi: ClockRule<ByoyomiControl> = {
  bankOnly: false,
  waitingGains: false,
  start: (control) => ({
    bankMs: control.initial_ms,
    periodsLeft: control.periods,
    periodLeftMs: control.period_ms,
  }),
  run(clock, control, elapsedMs) {
    let restMs = runMainTime(clock, elapsedMs);
    if (restMs === 0) return;
    const periodLeftMs = clock.periodLeftMs ?? 0;
    let periodsLeft = clock.periodsLeft ?? 0;
    if (restMs < periodLeftMs) {
      clock.periodLeftMs = periodLeftMs - restMs;
      return;
    }
    // The current period ran out, then as many whole periods as fit (no loop: a long
    // absence must not cost one step per period).
    restMs -= periodLeftMs;
    const wholePeriods = Math.floor(restMs / control.period_ms);
    periodsLeft -= 1 + wholePeriods;
    restMs -= wholePeriods * control.period_ms;
    clock.periodsLeft = Math.max(0, periodsLeft);
    clock.periodLeftMs = periodsLeft > 0 ? control.period_ms - restMs : 0;
  },
  endTurn(clock, control) {
    // During main time the period is full already; inside a period the move refills it.
    if ((clock.periodsLeft ?? 0) > 0) clock.periodLeftMs = control.period_ms;
  },
  flagInMs(clock, control) {
    const periodsLeft = clock.periodsLeft ?? 0;
    if (periodsLeft === 0) return Math.max(0, clock.bankMs);
    return clock.bankMs + (clock.periodLeftMs ?? 0) + (periodsLeft - 1) * control.period_ms;
  },
  issues: () => [],
};
