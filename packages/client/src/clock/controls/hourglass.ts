// Hourglass: two clocks, and what the mover spends the other one gains, so their sum stays
// constant. The gain is the bank modes' to give (they know the other clock): `waitingGains`.
import type { HourglassControl } from '../../wire/timeControl.js';
import type { ClockRule } from './rule.js';

export const hourglass: ClockRule<HourglassControl> = {
  bankOnly: true,
  waitingGains: true,
  start: (control) => ({ bankMs: control.initial_ms }),
  run(clock, _control, elapsedMs) {
    clock.bankMs -= elapsedMs;
  },
  endTurn() {},
  flagInMs: (clock) => clock.bankMs,
  issues: () => [],
};
