// Simple (US) delay: the bank stands still for the first delay_ms of each turn, so the flag
// falls at turn start + delay + bank.
import type { DelayControl } from '../../wire/timeControl.js';
import { runAfterDelay, type ClockRule } from './rule.js';

export const delay: ClockRule<DelayControl> = {
  bankOnly: false,
  waitingGains: false,
  start: (control) => ({ bankMs: control.initial_ms, delayLeftMs: control.delay_ms }),
  run: (clock, _control, elapsedMs) => runAfterDelay(clock, elapsedMs),
  endTurn(clock, control) {
    clock.delayLeftMs = control.delay_ms;
  },
  flagInMs: (clock) => (clock.delayLeftMs ?? 0) + clock.bankMs,
  issues: () => [],
};
