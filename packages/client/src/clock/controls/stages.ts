// Stages (as PGN's TimeControl tag, "40/5400+30:1800+30"): start with stage 0's time; the
// move that completes a stage's `moves` (that clock's own moves) adds the next stage's time_ms.
// Each stage may have its own increment (after each move) and simple delay (each turn).
import type { ValidationIssue } from '../../wire/errors.js';
import type { ClockCounters, Stage, StagesControl } from '../../wire/timeControl.js';
import { runAfterDelay, type ClockRule } from './rule.js';

export const stages: ClockRule<StagesControl> = {
  bankOnly: false,
  waitingGains: false,
  start(control) {
    const clock: ClockCounters = { bankMs: 0 };
    enterStage(clock, control.stages, 0);
    return clock;
  },
  run: (clock, _control, elapsedMs) => runAfterDelay(clock, elapsedMs),
  endTurn(clock, control) {
    const index = clock.stageIndex ?? 0;
    const stage = control.stages[index];
    if (stage === undefined) return;
    clock.bankMs += stage.increment_ms ?? 0;
    if (clock.stageMovesLeft === undefined || clock.stageMovesLeft > 1) {
      if (clock.stageMovesLeft !== undefined) clock.stageMovesLeft -= 1;
      startDelay(clock, control.stages, stage);
    } else {
      enterStage(clock, control.stages, index + 1);
    }
  },
  flagInMs: (clock) => (clock.delayLeftMs ?? 0) + clock.bankMs,
  issues(control) {
    const issues: ValidationIssue[] = [];
    const last = control.stages.length - 1;
    control.stages.forEach((stage, index) => {
      if (index < last && stage.moves === undefined) {
        issues.push({ path: `stages.${index}.moves`, message: 'is required on every stage but the last' });
      }
      if (index === last && stage.moves !== undefined) {
        issues.push({
          path: `stages.${index}.moves`,
          message: 'must be left out on the last stage: it lasts until the end',
        });
      }
    });
    return issues;
  },
};

/** Adds stage `index`'s time and starts counting its moves. */
function enterStage(clock: ClockCounters, all: readonly Stage[], index: number): void {
  const stage = all[index];
  if (stage === undefined) return;
  clock.bankMs += stage.time_ms;
  clock.stageIndex = index;
  startDelay(clock, all, stage);
  if (stage.moves === undefined) delete clock.stageMovesLeft;
  else clock.stageMovesLeft = stage.moves;
}

/** A turn's delay: the stage's own; a clock whose stages have none keeps no delay counter. */
function startDelay(clock: ClockCounters, all: readonly Stage[], stage: Stage): void {
  if (all.some((s) => s.delay_ms !== undefined)) clock.delayLeftMs = stage.delay_ms ?? 0;
}
