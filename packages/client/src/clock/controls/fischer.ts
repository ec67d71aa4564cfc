// Fischer: after a move made in time, add the increment, never beyond max_ms. Also the rule of
// a bank without a time control (total_time_ms + increment_ms, the shorthand), hence `undefined`.
import type { FischerControl } from '../../wire/timeControl.js';
import type { ClockRule } from './rule.js';

export const fischer: ClockRule<FischerControl | undefined> = {
  bankOnly: true,
  waitingGains: false,
  start: (control) => ({ bankMs: control.initial_ms }),
  run(clock, _control, elapsedMs) {
    clock.bankMs -= elapsedMs;
  },
  endTurn(clock, control, sessionIncrementMs) {
    const afterMs = clock.bankMs + (control === undefined ? sessionIncrementMs : control.increment_ms);
    const maxMs = control?.max_ms;
    // The cap limits what the increment adds; it never takes away what an adjustment gave.
    clock.bankMs = maxMs === undefined ? afterMs : Math.max(clock.bankMs, Math.min(afterMs, maxMs));
  },
  flagInMs: (clock) => clock.bankMs,
  issues: (control) =>
    control.max_ms !== undefined && control.max_ms < control.initial_ms
      ? [{ path: 'max_ms', message: `must be at least initial_ms (${control.initial_ms})` }]
      : [],
};
