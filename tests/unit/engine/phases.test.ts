// Phases (named thresholds of remaining time) and on_expire overtime: each crossing is one
// STATE at the crossing itself, the phase is a pure function of remaining time, and an
// overtime clock counts on below zero until someone acts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CreateSessionInput } from '../../../src/types/session.js';
import { EngineDriver, players, refusalOf, T0 } from '../../helpers/engineDriver.js';

const PHASES = [
  { name: 'warning', remaining_ms: 60_000 },
  { name: 'critical', remaining_ms: 10_000 },
];

function countdown(extra: Partial<CreateSessionInput> = {}): EngineDriver {
  return new EngineDriver({
    sync_mode: 'global',
    participants: players('stage'),
    total_time_ms: 300_000,
    phases: PHASES,
    ...extra,
  } as CreateSessionInput);
}

describe('phases', () => {
  it('shows each clock its phase and next crossing, and announces each crossing once, at the crossing', () => {
    const clock = countdown();
    clock.run({ type: 'start' });
    expect(clock.view()).toMatchObject({ phase: null, next_phase_at: T0 + 240_000 });
    clock.advance(239_999).tick();
    expect(clock.view().phase).toBeNull();
    clock.advance(1).tick();
    expect(clock.view()).toMatchObject({
      phase: 'warning',
      time_remaining_ms: 60_000,
      next_phase_at: T0 + 290_000,
    });
    clock.advance(100_000).tick();
    const crossings = clock.events.filter((e) => e.type === 'phase_changed');
    expect(crossings.map((e) => [e.atMs, e.state.phase])).toEqual([
      [T0 + 240_000, 'warning'],
      [T0 + 290_000, 'critical'],
    ]);
    expect(clock.events.at(-1)).toMatchObject({ type: 'expired', atMs: T0 + 300_000 });
  });

  it('moves next_phase_at with pause, resume and adjust; an adjust back out of a phase shows the earlier one, with no phase_changed', () => {
    const clock = countdown();
    clock.run({ type: 'start' });
    clock.advance(245_000).tick();
    clock.run({ type: 'pause' });
    expect(clock.view()).toMatchObject({ phase: 'warning', next_phase_at: null });
    clock.advance(30_000);
    clock.run({ type: 'resume' });
    expect(clock.view().next_phase_at).toBe(T0 + 275_000 + 45_000);
    const adjusted = clock.run({ type: 'adjust', deltaMs: 60_000 });
    expect(adjusted).toMatchObject({ event: 'adjusted', phase: null, next_phase_at: T0 + 275_000 + 55_000 });
    const before = clock.events.filter((e) => e.type === 'phase_changed').length;
    clock.advance(55_000).tick();
    const crossings = clock.events.filter((e) => e.type === 'phase_changed');
    expect(crossings).toHaveLength(before + 1);
    expect(crossings.at(-1)).toMatchObject({ atMs: T0 + 330_000 });
    expect(crossings.at(-1)?.state.phase).toBe('warning');
  });

  it("gives every participant's clock its own phase in per_participant", () => {
    const game = new EngineDriver({
      sync_mode: 'per_participant',
      participants: players('w', 'b'),
      total_time_ms: 70_000,
      phases: PHASES,
    });
    game.run({ type: 'start' });
    game.advance(15_000).tick();
    game.run({ type: 'switch' });
    const view = game.view();
    expect(view.participants.map((p) => [p.phase, p.next_phase_at])).toEqual([
      ['warning', null],
      [null, T0 + 15_000 + 10_000],
    ]);
    expect(game.events.find((e) => e.type === 'phase_changed')).toMatchObject({
      participantId: 'w',
      atMs: T0 + 10_000,
    });
  });

  it('crosses at remaining = threshold exactly, whatever the path there', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ advanceMs: fc.integer({ min: 0, max: 40_000 }) }),
            fc.constantFrom({ type: 'pause' as const }, { type: 'resume' as const }),
            fc
              .integer({ min: -20_000, max: 20_000 })
              .map((deltaMs) => ({ type: 'adjust' as const, deltaMs })),
          ),
          { maxLength: 20 },
        ),
        (plan) => {
          const clock = countdown({ total_time_ms: 120_000 });
          clock.run({ type: 'start' });
          for (const s of plan) {
            if ('advanceMs' in s) {
              clock.advance(s.advanceMs);
              clock.tick();
            } else {
              clock.tryRun(s);
            }
          }
          for (const e of clock.events.filter((x) => x.type === 'phase_changed')) {
            const threshold = PHASES.find((p) => p.name === e.state.phase)?.remaining_ms;
            expect(e.clocksAfter.session).toBe(threshold);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('on_expire overtime', () => {
  it('counts on below zero, continuously, with one overtime STATE, until an operator acts', () => {
    const clock = countdown({ on_expire: 'overtime' });
    clock.run({ type: 'start' });
    clock.advance(300_000).tick();
    clock.advance(5_000).tick();
    const view = clock.view();
    expect(view).toMatchObject({
      status: 'running',
      phase: 'overtime',
      time_remaining_ms: -5_000,
      deadline_at: null,
    });
    expect(clock.events.filter((e) => e.type === 'overtime')).toMatchObject([{ atMs: T0 + 300_000 }]);
    clock.advance(60_000).tick();
    expect(clock.events.filter((e) => e.type === 'overtime')).toHaveLength(1);
    expect(clock.run({ type: 'complete' }).status).toBe('completed');
  });

  it('is continuous through zero: remaining is total minus elapsed at every instant', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2_000 }), { maxLength: 30 }), (advances) => {
        const clock = countdown({ total_time_ms: 10_000, on_expire: 'overtime' });
        clock.run({ type: 'start' });
        let elapsedMs = 0;
        for (const ms of advances) {
          clock.advance(ms).tick();
          elapsedMs += ms;
          expect(clock.view().time_remaining_ms).toBe(10_000 - elapsedMs);
          expect(clock.view().phase).toBe(
            elapsedMs >= 10_000 ? 'overtime' : 10_000 - elapsedMs <= 10_000 ? 'critical' : null,
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('lets each clock of a concurrent session run into its own overtime', () => {
    const room = new EngineDriver({
      sync_mode: 'per_participant',
      concurrent: true,
      on_expire: 'overtime',
      participants: [
        { participant_id: 'a', total_time_ms: 1_000 },
        { participant_id: 'b', total_time_ms: 2_000 },
      ],
    });
    room.run({ type: 'start' });
    room.advance(1_500).tick();
    expect(room.view().participants.map((p) => [p.phase, p.time_remaining_ms, p.status])).toEqual([
      ['overtime', -500, 'running'],
      [null, 500, 'running'],
    ]);
    room.run({ type: 'complete', participantId: 'a' });
    room.advance(1_000).tick();
    expect(room.events.filter((e) => e.type === 'overtime').map((e) => e.participantId)).toEqual(['a', 'b']);
    expect(room.view().status).toBe('running');
  });
});

describe('bad input changes nothing', () => {
  it.each([
    ['thresholds not strictly decreasing', { phases: [PHASES[1], PHASES[0]] }, 'phases.1.remaining_ms'],
    [
      'equal thresholds',
      { phases: [PHASES[0], { name: 'again', remaining_ms: 60_000 }] },
      'phases.1.remaining_ms',
    ],
    [
      'a phase name outside [a-z0-9_-]{1,32}',
      { phases: [{ name: 'Warning!', remaining_ms: 5 }] },
      'phases.0.name',
    ],
    ['a name of 33 characters', { phases: [{ name: 'a'.repeat(33), remaining_ms: 5 }] }, 'phases.0.name'],
    ['the reserved name overtime', { phases: [{ name: 'overtime', remaining_ms: 5 }] }, 'phases.0.name'],
    ['concurrent in global', { concurrent: true }, 'concurrent'],
  ])('refuses %s at create with 400', (_name, extra, path) => {
    const error = refusalOf(() => countdown(extra as Partial<CreateSessionInput>));
    expect([error.code, error.status]).toEqual(['VALIDATION_ERROR', 400]);
    expect((error.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain(path);
  });

  it('refuses overtime on a clock with periods or delays', () => {
    const error = refusalOf(
      () =>
        new EngineDriver({
          sync_mode: 'per_participant',
          participants: players('a', 'b'),
          on_expire: 'overtime',
          time_control: { type: 'byoyomi', initial_ms: 1_000, period_ms: 1_000, periods: 1 },
        }),
    );
    expect(error.code).toBe('VALIDATION_ERROR');
  });

  it('refuses participant_id on a pause of a session that is not concurrent with 400, unchanged', () => {
    const game = new EngineDriver({
      sync_mode: 'per_participant',
      participants: players('a', 'b'),
      total_time_ms: 9_000,
    });
    game.run({ type: 'start' });
    for (const type of ['pause', 'resume', 'complete'] as const) {
      const before = structuredClone(game.state);
      const error = refusalOf(() => game.run({ type, participantId: 'a' }));
      expect([error.code, error.status]).toEqual(['VALIDATION_ERROR', 400]);
      expect(game.state).toEqual(before);
    }
  });
});
