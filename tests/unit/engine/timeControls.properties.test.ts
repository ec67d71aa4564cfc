// Time controls through the engine: random sessions under random controls, driven by random
// commands at random times on an injected clock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SessionCommand, SessionView } from '../../../src/types/session.js';
import { EngineDriver, expectRefusalsChangeNothing, play, type Step } from '../../helpers/engineDriver.js';
import { controlledSession } from '../../helpers/timeControls.js';

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 6_000 }).map((advanceMs) => ({ advanceMs })) },
  { weight: 20, arbitrary: fc.constant({ command: { type: 'switch' } as SessionCommand }) },
  { weight: 4, arbitrary: fc.constant({ command: { type: 'pause' } as SessionCommand }) },
  { weight: 4, arbitrary: fc.constant({ command: { type: 'resume' } as SessionCommand }) },
);
const adjust: fc.Arbitrary<Step> = fc
  .record({
    participantId: fc.constantFrom('p0', 'p1', 'p2'),
    deltaMs: fc.integer({ min: -5_000, max: 5_000 }),
  })
  .map(({ participantId, deltaMs }) => ({
    command: { type: 'adjust', participantId, deltaMs } as SessionCommand,
  }));

const scenario = fc.record({ input: controlledSession, steps: fc.array(step, { maxLength: 30 }) });

/** Every number a clock face shows, for each participant and group. */
function faces(view: SessionView) {
  const face = ({ time_used_ms: _used, is_active: _active, ...rest }: Record<string, unknown>) => rest;
  return {
    participants: view.participants.map((p) => face({ ...p })),
    groups: view.groups?.map((g) => face({ ...g })),
  };
}

describe('time controls in the engine', () => {
  it('a flag falls at the same instant whether or not a command arrives', () => {
    fc.assert(
      fc.property(
        scenario,
        fc.integer({ min: 0, max: 100_000 }),
        fc.constantFrom<SessionCommand>({ type: 'switch' }, { type: 'pause' }, { type: 'complete' }),
        ({ input, steps }, lateMs, command) => {
          const played = play(input, steps);
          const deadlineAtMs = played.view().deadline_at;
          if (deadlineAtMs === null) return;
          const versionBefore = played.state.version;

          // Just before the deadline nothing falls.
          const early = new EngineDriver(input);
          early.state = structuredClone(played.state);
          early.nowMs = deadlineAtMs - 1;
          expect(early.tick().version).toBe(versionBefore);

          // Alone, or before a command arriving any time after it, the expiry is stamped at the deadline.
          const alone = new EngineDriver(input);
          alone.state = structuredClone(played.state);
          alone.nowMs = deadlineAtMs + lateMs;
          alone.tick();
          const withCommand = new EngineDriver(input);
          withCommand.state = structuredClone(played.state);
          withCommand.nowMs = deadlineAtMs + lateMs;
          withCommand.tryRun(command);
          const first = alone.events[0];
          expect(first?.atMs).toBe(deadlineAtMs);
          expect(withCommand.events[0]).toEqual(first);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('no clock face ever shows a negative number', () => {
    fc.assert(
      fc.property(scenario, fc.array(adjust, { maxLength: 3 }), ({ input, steps }, adjustments) => {
        play(input, [...steps, ...adjustments], (_clock, view) => {
          for (const face of [...view.participants, ...(view.groups ?? [])]) {
            for (const [field, value] of Object.entries(face)) {
              if (typeof value === 'number') expect(value, field).toBeGreaterThanOrEqual(0);
            }
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('pause freezes every clock face, and resume continues exactly where it stopped', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1, max: 10_000_000 }), ({ input, steps }, waitMs) => {
        const clock = play(input, steps);
        const running = clock.view();
        if (running.status !== 'running') return;
        const paused = clock.run({ type: 'pause' });
        clock.advance(waitMs);
        expect(faces(clock.tick())).toEqual(faces(paused));
        const resumed = clock.run({ type: 'resume' });
        expect(faces(paused)).toEqual(faces(running));
        expect(faces(resumed)).toEqual(faces(running));
        expect(resumed.deadline_at).toBe(clock.nowMs + ((running.deadline_at ?? 0) - running.server_time));
      }),
      { numRuns: 300 },
    );
  });

  it('hourglass keeps the sum of the two clocks constant', () => {
    fc.assert(
      fc.property(
        scenario.filter(({ input }) => input.time_control?.type === 'hourglass'),
        ({ input, steps }) => {
          const sumMs = 2 * (input.time_control?.type === 'hourglass' ? input.time_control.initial_ms : 0);
          play(input, steps, (_clock, view) => {
            const clocks = view.groups ?? view.participants;
            expect(clocks.reduce((sum, c) => sum + (c.time_remaining_ms ?? 0), 0)).toBe(sumMs);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a rejected command changes nothing', () => {
    fc.assert(
      fc.property(scenario, fc.array(adjust, { maxLength: 4 }), ({ input, steps }, adjustments) =>
        expectRefusalsChangeNothing(input, [{ command: { type: 'start' } }, ...steps, ...adjustments]),
      ),
      { numRuns: 200 },
    );
  });
});
