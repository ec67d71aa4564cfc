// Bronstein delay: the clock runs at once; the move gives back what it used, up to delay_ms,
// so a move never gains time.
import type { BronsteinControl } from '../../wire/timeControl.js';
import type { ClockRule } from './rule.js';

export const bronstein: ClockRule<BronsteinControl> = {
  bankOnly: false,
  waitingGains: false,
  start: (control) => ({ bankMs: control.initial_ms, delayLeftMs: control.delay_ms }),
  run(clock, _control, elapsedMs) {
    clock.bankMs -= elapsedMs;
    clock.delayLeftMs = Math.max(0, (clock.delayLeftMs ?? 0) - elapsedMs);
  },
  endTurn(clock, control) {
    // What this turn used of its delay: min(used, delay_ms).
    clock.bankMs += control.delay_ms - (clock.delayLeftMs ?? 0);
    clock.delayLeftMs = control.delay_ms;
  },
  flagInMs: (clock) => clock.bankMs,
  issues: () => [],
};
