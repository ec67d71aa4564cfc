// Properties of the time math, over random sessions driven by random commands at random times.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SyncKairosError } from '../../../src/types/errors.js';
import type { CreateSessionInput, SessionCommand, SessionView } from '../../../src/types/session.js';
import { EngineDriver, expectRefusalsChangeNothing, play, type Step } from '../../helpers/engineDriver.js';

const ids = ['p0', 'p1', 'p2', 'p3'];
const duration = fc.integer({ min: 1, max: 20_000 });

const sessionInput: fc.Arbitrary<CreateSessionInput> = fc
  .record({
    count: fc.integer({ min: 1, max: 4 }),
    totalMs: duration,
    incrementMs: fc.integer({ min: 0, max: 3_000 }),
    skip: fc.boolean(),
    advance: fc.boolean(),
    maxTimeMs: fc.option(duration, { nil: undefined }),
    mode: fc.constantFrom('per_participant', 'per_cycle', 'per_group', 'global', 'count_up' as const),
  })
  .map(({ count, totalMs, incrementMs, skip, advance, maxTimeMs, mode }) => {
    const participants = ids.slice(0, count).map((participant_id, index) => ({
      participant_id,
      ...(mode === 'per_group' ? { group_id: `g${index % 2}` } : {}),
    }));
    switch (mode) {
      case 'per_participant':
      case 'per_group':
        return {
          sync_mode: mode,
          participants,
          total_time_ms: totalMs,
          increment_ms: incrementMs,
          on_expire: skip ? 'skip_participant' : 'end_session',
        };
      case 'per_cycle':
        return {
          sync_mode: mode,
          participants,
          time_per_cycle_ms: totalMs,
          on_expire: advance ? 'auto_advance' : skip ? 'skip_participant' : 'end_session',
        };
      case 'global':
        return { sync_mode: mode, participants, total_time_ms: totalMs };
      case 'count_up':
        return { sync_mode: mode, participants, max_time_ms: maxTimeMs };
    }
  });

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 8_000 }).map((advanceMs) => ({ advanceMs })) },
  {
    weight: 20,
    arbitrary: fc
      .option(fc.constantFrom(...ids), { nil: undefined })
      .map((nextParticipantId) => ({ command: { type: 'switch', nextParticipantId } as SessionCommand })),
  },
  { weight: 5, arbitrary: fc.constant({ command: { type: 'start' } as SessionCommand }) },
  { weight: 5, arbitrary: fc.constant({ command: { type: 'pause' } as SessionCommand }) },
  { weight: 5, arbitrary: fc.constant({ command: { type: 'resume' } as SessionCommand }) },
  { weight: 1, arbitrary: fc.constant({ command: { type: 'complete' } as SessionCommand }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ participantId: fc.constantFrom(...ids), deltaMs: fc.integer({ min: -10_000, max: 10_000 }) })
      .map(({ participantId, deltaMs }) => ({
        command: { type: 'adjust', participantId, deltaMs } as SessionCommand,
      })),
  },
);

const scenario = fc.record({ input: sessionInput, steps: fc.array(step, { maxLength: 40 }) });

describe('engine properties', () => {
  it('no time is ever negative', () => {
    fc.assert(
      fc.property(scenario, ({ input, steps }) => {
        play(input, steps, (_clock, view) => {
          for (const p of view.participants) {
            expect(p.time_remaining_ms ?? 0).toBeGreaterThanOrEqual(0);
            expect(p.time_used_ms).toBeGreaterThanOrEqual(0);
          }
          for (const g of view.groups ?? []) expect(g.time_remaining_ms).toBeGreaterThanOrEqual(0);
          expect(view.time_remaining_ms ?? 0).toBeGreaterThanOrEqual(0);
          expect(view.elapsed_ms ?? 0).toBeGreaterThanOrEqual(0);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('remaining plus used equals the initial time plus increments and adjustments', () => {
    fc.assert(
      fc.property(
        scenario.filter(({ input }) => input.sync_mode !== 'per_cycle' && input.sync_mode !== 'count_up'),
        ({ input, steps }) => {
          const clock = play(input, steps);
          const view = clock.view();
          // Re-derive each adjustment's delta from the commands that were accepted.
          const accepted = acceptedAdjustments(input, steps);
          const total = input.total_time_ms ?? 0;
          const inc = input.increment_ms ?? 0;
          if (input.sync_mode === 'per_participant') {
            for (const p of view.participants) {
              const expected = total + inc * p.cycle_count + (accepted.get(p.participant_id) ?? 0);
              expect((p.time_remaining_ms ?? 0) + p.time_used_ms).toBe(expected);
            }
          } else if (input.sync_mode === 'global') {
            const used = view.participants.reduce((sum, p) => sum + p.time_used_ms, 0);
            const adjusted = [...accepted.values()].reduce((sum, d) => sum + d, 0);
            expect((view.time_remaining_ms ?? 0) + used).toBe(total + adjusted);
          } else {
            for (const g of view.groups ?? []) {
              const members = view.participants.filter((p) => p.group_id === g.group_id);
              const turns = members.reduce((sum, p) => sum + p.cycle_count, 0);
              const adjusted = members.reduce((sum, p) => sum + (accepted.get(p.participant_id) ?? 0), 0);
              expect(g.time_remaining_ms + g.time_used_ms).toBe(total + inc * turns + adjusted);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('pause freezes every clock', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1, max: 10_000_000 }), ({ input, steps }, waitMs) => {
        const clock = play(input, steps);
        const running = clock.view();
        if (running.status !== 'running') return;
        const paused = clock.run({ type: 'pause' });
        clock.advance(waitMs);
        const after = clock.tick();
        expect({ ...after, server_time: 0 }).toEqual({ ...paused, server_time: 0 });
        // Pausing and resuming loses and adds nothing: the clocks read as they did when paused.
        const resumed = clock.run({ type: 'resume' });
        expect(clockReadings(paused)).toEqual(clockReadings(running));
        expect(clockReadings(resumed)).toEqual(clockReadings(running));
      }),
      { numRuns: 300 },
    );
  });

  it('an expired participant never runs again', () => {
    fc.assert(
      fc.property(scenario, ({ input, steps }) => {
        const usedAtExpiry = new Map<string, number>();
        play(input, steps, (_clock, view) => {
          for (const p of view.participants) {
            if (!p.has_expired) continue;
            if (view.status === 'running') expect(p.is_active).toBe(false);
            const frozen = usedAtExpiry.get(p.participant_id) ?? p.time_used_ms;
            expect(p.time_used_ms).toBe(frozen);
            usedAtExpiry.set(p.participant_id, frozen);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('an accepted switch always hands the turn to another participant', () => {
    fc.assert(
      fc.property(scenario, ({ input, steps }) => {
        const clock = new EngineDriver(input);
        clock.run({ type: 'start' });
        for (const s of steps) {
          if ('advanceMs' in s) {
            clock.advance(s.advanceMs);
            clock.tick();
            continue;
          }
          const holder = clock.tick().active_participant_id;
          try {
            const after = clock.run(s.command);
            // A lone stopwatch's switch is a split in place (a lap, no time credited).
            const loneSplit = after.sync_mode === 'count_up' && after.participants.length === 1;
            if (s.command.type === 'switch' && after.event === 'switched' && !loneSplit) {
              expect(after.active_participant_id).not.toBe(holder);
            }
          } catch (error) {
            if (!(error instanceof SyncKairosError)) throw error;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a rejected command changes nothing', () => {
    fc.assert(
      fc.property(scenario, ({ input, steps }) => expectRefusalsChangeNothing(input, steps)),
      { numRuns: 300 },
    );
  });

  it('a reset session then the same steps gives the same clocks as a fresh session', () => {
    fc.assert(
      fc.property(scenario, fc.array(step, { maxLength: 20 }), ({ input, steps }, after) => {
        const reset = play(input, steps);
        reset.run({ type: 'reset' });
        const fresh = new EngineDriver(input);
        fresh.nowMs = reset.nowMs;
        for (const clock of [reset, fresh]) {
          clock.tryRun({ type: 'start' });
          for (const s of after) {
            if ('advanceMs' in s) clock.advance(s.advanceMs).tick();
            else clock.tryRun(s.command);
          }
        }
        const { version: _r, created_at: _rc, updated_at: _ru, ...resetView } = reset.view();
        const { version: _f, created_at: _fc, updated_at: _fu, ...freshView } = fresh.view();
        expect(resetView).toEqual(freshView);
      }),
      { numRuns: 200 },
    );
  });

  it('the same inputs give the same state', () => {
    fc.assert(
      fc.property(scenario, ({ input, steps }) => {
        const first = play(input, steps);
        const second = play(input, steps);
        expect(second.state).toEqual(first.state);
        expect(second.events).toEqual(first.events);
      }),
      { numRuns: 200 },
    );
  });
});

function clockReadings(view: SessionView) {
  return {
    participants: view.participants.map((p) => [p.time_remaining_ms, p.time_used_ms, p.has_expired]),
    groups: view.groups,
    remaining: view.time_remaining_ms,
    elapsed: view.elapsed_ms,
  };
}

/** Replays the scenario and sums the deltas of the adjustments the engine accepted. */
function acceptedAdjustments(input: CreateSessionInput, steps: Step[]): Map<string, number> {
  const sums = new Map<string, number>();
  const clock = new EngineDriver(input);
  clock.run({ type: 'start' });
  for (const s of steps) {
    if ('advanceMs' in s) {
      clock.advance(s.advanceMs);
      clock.tick();
      continue;
    }
    try {
      clock.run(s.command);
      if (s.command.type === 'adjust' && s.command.participantId) {
        sums.set(s.command.participantId, (sums.get(s.command.participantId) ?? 0) + s.command.deltaMs);
      }
    } catch (error) {
      if (!(error instanceof SyncKairosError)) throw error;
    }
  }
  return sums;
}
