// The time formulas the engine and the SDK share: the one time formula, the clock face and
// each time control's rules.
export { elapsedSinceMs, remainingAtMs } from './time.js';
export { countersOfFace, flagInMs, ranOn, writeFace, type ClockFace } from './face.js';
export { ruleOf, type ClockRule } from './controls/index.js';
