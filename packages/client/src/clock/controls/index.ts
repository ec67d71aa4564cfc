// The time controls, one file each, looked up here by type. A bank without a control runs by
// the fischer rule with the session's increment_ms (the total_time_ms + increment_ms shorthand).
import type { TimeControl, TimeControlType } from '../../wire/timeControl.js';
import { bronstein } from './bronstein.js';
import { byoyomi } from './byoyomi.js';
import { canadian } from './canadian.js';
import { delay } from './delay.js';
import { fischer } from './fischer.js';
import { hourglass } from './hourglass.js';
import type { ClockRule } from './rule.js';
import { stages } from './stages.js';

export type { ClockRule } from './rule.js';

const RULES: { [T in TimeControlType]: ClockRule<Extract<TimeControl, { type: T }>> } = {
  fischer,
  bronstein,
  delay,
  stages,
  byoyomi,
  canadian,
  hourglass,
};

export function ruleOf(control: TimeControl | undefined): ClockRule<TimeControl | undefined> {
  // The table pairs each type with its own rule; TypeScript cannot follow that through a lookup.
  return (control === undefined ? fischer : RULES[control.type]) as ClockRule<TimeControl | undefined>;
}
