// Each time control's formula, pinned over random clocks and random turns. A rule is pure and
// takes the elapsed time as an argument: the test is the clock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ruleOf } from '@synckairos/client/clock';
import type {
  BronsteinControl,
  ByoyomiControl,
  CanadianControl,
  ClockCounters,
  DelayControl,
  FischerControl,
  StagesControl,
  TimeControl,
} from '../../../src/types/timeControl.js';
import { anyControl, singleClockControl } from '../../helpers/timeControls.js';

const RUNS = { numRuns: 500 };
const moves = fc.array(fc.nat(), { maxLength: 12 });

/** A clock of `control` after some moves made in time: the start of a turn somewhere in a game. */
function clockAfter(control: TimeControl, thinkTimes: number[]): ClockCounters {
  const rule = ruleOf(control);
  const clock = rule.start(control);
  for (const think of thinkTimes) {
    const flagInMs = rule.flagInMs(clock, control);
    if (flagInMs <= 1) break;
    rule.run(clock, control, think % flagInMs);
    rule.endTurn(clock, control, 0);
  }
  return clock;
}

/** Runs a turn of `usedMs` in `pieces` (a turn paused and resumed) and makes the move. */
function playTurn(control: TimeControl, clock: ClockCounters, usedMs: number, pieces = 1): ClockCounters {
  const rule = ruleOf(control);
  const after = { ...clock };
  let leftMs = usedMs;
  for (let piece = pieces; piece > 1; piece--) {
    const pieceMs = Math.floor(leftMs / piece);
    rule.run(after, control, pieceMs);
    leftMs -= pieceMs;
  }
  rule.run(after, control, leftMs);
  rule.endTurn(after, control, 0);
  return after;
}

/** A turn's length short of the flag: 0 … flagInMs − 1. */
const turnOf = (flagInMs: number, seed: number) => seed % Math.max(1, flagInMs);

function specific<T extends TimeControl['type']>(type: T): fc.Arbitrary<Extract<TimeControl, { type: T }>> {
  return singleClockControl.filter((c): c is Extract<TimeControl, { type: T }> => c.type === type);
}

describe('every time control', () => {
  it('a turn run in pieces (paused and resumed) ends where it would have in one go', () => {
    fc.assert(
      fc.property(anyControl, moves, fc.nat(), fc.nat(), (control, history, a, b) => {
        const rule = ruleOf(control);
        const clock = clockAfter(control, history);
        const flagInMs = rule.flagInMs(clock, control);
        const firstMs = a % (flagInMs + 1);
        const secondMs = b % (flagInMs - firstMs + 1);
        const inPieces = { ...clock };
        rule.run(inPieces, control, firstMs);
        rule.run(inPieces, control, secondMs);
        const atOnce = { ...clock };
        rule.run(atOnce, control, firstMs + secondMs);
        expect(inPieces).toEqual(atOnce);
      }),
      RUNS,
    );
  });

  it('the flag falls exactly flagInMs into the turn: the time left shrinks by what ran, to zero', () => {
    fc.assert(
      fc.property(anyControl, moves, fc.nat(), (control, history, seed) => {
        const rule = ruleOf(control);
        const clock = clockAfter(control, history);
        const flagInMs = rule.flagInMs(clock, control);
        const ranMs = seed % (flagInMs + 1);
        const after = { ...clock };
        rule.run(after, control, ranMs);
        expect(rule.flagInMs(after, control)).toBe(flagInMs - ranMs);
        rule.run(after, control, flagInMs - ranMs);
        expect(rule.flagInMs(after, control)).toBe(0);
      }),
      RUNS,
    );
  });
});

describe('fischer', () => {
  it('a move adds the increment, capped at max_ms but never below what was left', () => {
    fc.assert(
      fc.property(specific('fischer'), moves, fc.nat(), (control: FischerControl, history, seed) => {
        const clock = clockAfter(control, history);
        const usedMs = turnOf(clock.bankMs, seed);
        const leftMs = clock.bankMs - usedMs;
        const uncappedMs = leftMs + control.increment_ms;
        const expectedMs =
          control.max_ms === undefined ? uncappedMs : Math.max(leftMs, Math.min(uncappedMs, control.max_ms));
        expect(playTurn(control, clock, usedMs).bankMs).toBe(expectedMs);
      }),
      RUNS,
    );
  });
});

describe('bronstein', () => {
  it('gives back min(used, delay_ms): never more than the move used', () => {
    fc.assert(
      fc.property(
        specific('bronstein'),
        moves,
        fc.nat(),
        fc.integer({ min: 1, max: 4 }),
        (control: BronsteinControl, history, seed, pieces) => {
          const clock = clockAfter(control, history);
          const usedMs = turnOf(clock.bankMs, seed);
          const after = playTurn(control, clock, usedMs, pieces);
          expect(after.bankMs).toBe(clock.bankMs - usedMs + Math.min(usedMs, control.delay_ms));
          expect(after.bankMs).toBeLessThanOrEqual(clock.bankMs);
          expect(after.delayLeftMs).toBe(control.delay_ms);
        },
      ),
      RUNS,
    );
  });
});

describe('delay', () => {
  it('never moves the bank inside the delay, and takes every millisecond after it', () => {
    fc.assert(
      fc.property(specific('delay'), moves, fc.nat(), (control: DelayControl, history, seed) => {
        const rule = ruleOf(control);
        const clock = clockAfter(control, history);
        const flagInMs = rule.flagInMs(clock, control);
        expect(flagInMs).toBe(control.delay_ms + clock.bankMs);
        const ranMs = seed % (flagInMs + 1);
        const after = { ...clock };
        rule.run(after, control, ranMs);
        if (ranMs <= control.delay_ms) expect(after.bankMs).toBe(clock.bankMs);
        expect(after.bankMs).toBe(clock.bankMs - Math.max(0, ranMs - control.delay_ms));
        expect(after.delayLeftMs).toBe(Math.max(0, control.delay_ms - ranMs));
      }),
      RUNS,
    );
  });
});

describe('byoyomi', () => {
  it('a move inside a period refills it; each period that runs out costs one', () => {
    fc.assert(
      fc.property(
        specific('byoyomi'),
        moves,
        fc.nat(),
        fc.boolean(),
        (control: ByoyomiControl, history, seed, onBoundary) => {
          const rule = ruleOf(control);
          const clock = clockAfter(control, history);
          // A turn starts with a full period.
          expect(clock.periodLeftMs).toBe(control.period_ms);
          // Half the moves land exactly where main time or a period runs out.
          const usedMs = onBoundary
            ? clock.bankMs + (seed % (clock.periodsLeft ?? 1)) * control.period_ms
            : turnOf(rule.flagInMs(clock, control), seed);
          const after = playTurn(control, clock, usedMs);
          const overMs = usedMs - clock.bankMs;
          const lost = overMs < 0 ? 0 : Math.floor(overMs / control.period_ms);
          expect(after).toMatchObject({
            bankMs: Math.max(0, clock.bankMs - usedMs),
            periodsLeft: (clock.periodsLeft ?? 0) - lost,
            periodLeftMs: control.period_ms,
          });
          expect(after.periodsLeft).toBeGreaterThan(0);
        },
      ),
      RUNS,
    );
  });

  it('the flag falls when the last period runs out', () => {
    fc.assert(
      fc.property(specific('byoyomi'), moves, (control: ByoyomiControl, history) => {
        const rule = ruleOf(control);
        const clock = clockAfter(control, history);
        expect(rule.flagInMs(clock, control)).toBe(
          clock.bankMs + (clock.periodsLeft ?? 0) * control.period_ms,
        );
      }),
      RUNS,
    );
  });
});

describe('canadian', () => {
  it('counts moves made after main time; the period starts afresh after moves_per_period of them', () => {
    fc.assert(
      fc.property(specific('canadian'), moves, fc.nat(), (control: CanadianControl, history, seed) => {
        const rule = ruleOf(control);
        const clock = clockAfter(control, history);
        const usedMs = turnOf(rule.flagInMs(clock, control), seed);
        const after = playTurn(control, clock, usedMs);
        if (usedMs < clock.bankMs) {
          expect(after).toEqual({ ...clock, bankMs: clock.bankMs - usedMs });
          return;
        }
        const movesLeft = (clock.periodMovesLeft ?? 0) - 1;
        const periodLeftMs = (clock.periodLeftMs ?? 0) - (usedMs - clock.bankMs);
        expect(after).toEqual(
          movesLeft === 0
            ? { bankMs: 0, periodLeftMs: control.period_ms, periodMovesLeft: control.moves_per_period }
            : { bankMs: 0, periodLeftMs, periodMovesLeft: movesLeft },
        );
      }),
      RUNS,
    );
  });
});

describe('stages', () => {
  it("adds the next stage's time exactly on the stage's last move, and each stage's increment after its moves", () => {
    fc.assert(
      fc.property(specific('stages'), moves, (control: StagesControl, thinkTimes) => {
        const rule = ruleOf(control);
        let clock = rule.start(control);
        let stageIndex = 0;
        let movesInStage = 0;
        for (const seed of thinkTimes) {
          const stage = control.stages[stageIndex]!;
          const flagInMs = rule.flagInMs(clock, control);
          if (flagInMs <= 1) return;
          const usedMs = seed % flagInMs;
          const after = playTurn(control, clock, usedMs);
          movesInStage += 1;
          const completes = stage.moves !== undefined && movesInStage === stage.moves;
          const next = completes ? control.stages[stageIndex + 1] : undefined;
          const expectedMs =
            clock.bankMs -
            Math.max(0, usedMs - (stage.delay_ms ?? 0)) +
            (stage.increment_ms ?? 0) +
            (next?.time_ms ?? 0);
          expect(after.bankMs).toBe(expectedMs);
          if (completes) {
            stageIndex += 1;
            movesInStage = 0;
          }
          expect(after.stageIndex).toBe(stageIndex);
          const current = control.stages[stageIndex]!;
          expect(after.stageMovesLeft).toBe(
            current.moves === undefined ? undefined : current.moves - movesInStage,
          );
          clock = after;
        }
      }),
      RUNS,
    );
  });
});
