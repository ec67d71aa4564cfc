// per_cycle cue lists: a run sheet whose cues run in order, each reporting its planned and actual
// time, and the session its drift; auto_advance starts each cue at the previous one's deadline,
// overtime waits for the operator's switch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  CreateSessionInput,
  CueInput,
  SessionCommand,
  SessionView,
} from '../../../src/types/session.js';
import {
  EngineDriver,
  expectRefusalsChangeNothing,
  play,
  players,
  refusalOf,
  T0,
  type Step,
} from '../../helpers/engineDriver.js';

const MINUTE = 60_000;

const RUN_SHEET: CueInput[] = [
  { label: 'Welcome', duration_ms: 5 * MINUTE, participant_id: 'host' },
  { label: 'Keynote', duration_ms: 20 * MINUTE, participant_id: 'speaker' },
  { label: 'Q&A', duration_ms: 10 * MINUTE },
  { label: 'Close', duration_ms: 2 * MINUTE, participant_id: 'host' },
];

function show(extra: Partial<CreateSessionInput> = {}): EngineDriver {
  return new EngineDriver({
    sync_mode: 'per_cycle',
    participants: players('host', 'speaker', 'moderator'),
    cycles: RUN_SHEET,
    ...extra,
  } as CreateSessionInput);
}

/** The drift as the definition says: the sum of (actual − planned) of the cues that ended. */
function driftOf(view: SessionView): number {
  return (view.cycles ?? []).reduce(
    (sum, cue) => sum + (cue.actual_ms === null ? 0 : cue.actual_ms - cue.planned_ms),
    0,
  );
}

describe('a cue list', () => {
  it('shows the run sheet before start: cue 0 next, its participant active, no drift', () => {
    const view = show().view();
    expect(view).toMatchObject({
      status: 'pending',
      cycle_index: 0,
      active_participant_id: 'host',
      time_remaining_ms: 5 * MINUTE,
      over_under_ms: 0,
      time_per_cycle_ms: null,
    });
    expect(view.cycles).toEqual(
      RUN_SHEET.map((cue) => ({
        label: cue.label,
        participant_id: cue.participant_id ?? null,
        planned_ms: cue.duration_ms,
        actual_ms: null,
        over_under_ms: null,
      })),
    );
  });

  it('ends a cue on switch with its actual time, and its participant takes the turn; a cue without one goes on in turn order', () => {
    const clock = show();
    clock.run({ type: 'start' });
    clock.advance(4 * MINUTE);
    expect(clock.run({ type: 'switch' })).toMatchObject({
      event: 'switched',
      cycle_index: 1,
      active_participant_id: 'speaker',
      cycle_started_at: T0 + 4 * MINUTE,
      time_remaining_ms: 20 * MINUTE,
      over_under_ms: -MINUTE,
    });
    expect(clock.view().cycles?.[0]).toMatchObject({ actual_ms: 4 * MINUTE, over_under_ms: -MINUTE });
    expect(clock.participant('host').cycle_count).toBe(1);

    clock.advance(23 * MINUTE).tick(); // end_session: the keynote's deadline ends the session
    expect(clock.view().status).toBe('expired');
    expect(clock.view().cycles?.[1]).toMatchObject({ actual_ms: 20 * MINUTE, over_under_ms: 0 });

    const qa = show();
    qa.run({ type: 'start' });
    qa.run({ type: 'switch' });
    // Q&A names nobody: the turn passes from the speaker to the next in order.
    expect(qa.run({ type: 'switch' })).toMatchObject({ cycle_index: 2, active_participant_id: 'moderator' });
  });

  it("shows the running cue's remaining time on the session and every participant", () => {
    const clock = show();
    clock.run({ type: 'start' });
    clock.advance(MINUTE);
    const view = clock.view();
    expect(view.time_remaining_ms).toBe(4 * MINUTE);
    expect(view.participants.map((p) => p.time_remaining_ms)).toEqual([4 * MINUTE, 4 * MINUTE, 4 * MINUTE]);
    expect(view.deadline_at).toBe(T0 + 5 * MINUTE);
  });

  it('completes the session when the last cue is switched, with every cue accounted for', () => {
    const clock = show({ on_expire: 'overtime' });
    clock.run({ type: 'start' });
    for (const ranMs of [6, 19, 12]) {
      clock.advance(ranMs * MINUTE);
      clock.run({ type: 'switch' });
    }
    clock.advance(3 * MINUTE);
    const done = clock.run({ type: 'switch' });
    expect(done).toMatchObject({
      status: 'completed',
      event: 'completed',
      cycle_index: 3,
      deadline_at: null,
    });
    expect(done.cycles?.map((c) => c.over_under_ms)).toEqual([MINUTE, -MINUTE, 2 * MINUTE, MINUTE]);
    expect(done.over_under_ms).toBe(3 * MINUTE);
    expect(refusalOf(() => clock.run({ type: 'switch' }))).toMatchObject({ code: 'INVALID_STATE' });
  });

  it('jumps to next_cycle_index, leaving the skipped cues without an actual time and out of the drift', () => {
    const clock = show();
    clock.run({ type: 'start' });
    clock.advance(4 * MINUTE);
    const view = clock.run({ type: 'switch', nextCycleIndex: 3 });
    expect(view).toMatchObject({
      cycle_index: 3,
      active_participant_id: 'host',
      time_remaining_ms: 2 * MINUTE,
      over_under_ms: -MINUTE,
    });
    expect(view.cycles?.map((c) => c.actual_ms)).toEqual([4 * MINUTE, null, null, null]);
  });

  it('auto_advance starts each cue at the previous deadline exactly: actual = planned, no drift', () => {
    const clock = show({ on_expire: 'auto_advance' });
    clock.run({ type: 'start' });
    clock.advance(5 * MINUTE + 20_000).tick(); // noticed late: the keynote still started at the deadline
    expect(clock.view()).toMatchObject({
      cycle_index: 1,
      cycle_started_at: T0 + 5 * MINUTE,
      active_participant_id: 'speaker',
      time_remaining_ms: 20 * MINUTE - 20_000,
    });
    clock.advance(60 * MINUTE).tick();
    const advances = clock.events.filter((e) => e.type === 'cycle_advanced').map((e) => e.atMs);
    expect(advances).toEqual([T0 + 5 * MINUTE, T0 + 25 * MINUTE, T0 + 35 * MINUTE]);
    expect(clock.events.at(-1)).toMatchObject({ type: 'completed', atMs: T0 + 37 * MINUTE });
    const view = clock.view();
    expect(view.status).toBe('completed');
    expect(view.cycles?.map((c) => c.actual_ms)).toEqual(RUN_SHEET.map((c) => c.duration_ms));
    expect(view.over_under_ms).toBe(0);
  });

  it('auto_advance left alone through a long run sheet ends every cue at its own deadline', () => {
    const cycles = Array.from({ length: 1000 }, (_, i) => ({ label: `cue ${i}`, duration_ms: 1_000 + i }));
    const clock = new EngineDriver({
      sync_mode: 'per_cycle',
      participants: players('stage'),
      cycles,
      on_expire: 'auto_advance',
    });
    clock.run({ type: 'start' });
    clock.advance(10_000_000).tick();
    const view = clock.view();
    expect(view.status).toBe('completed');
    expect(view.cycles?.every((c, i) => c.actual_ms === 1_000 + i)).toBe(true);
    expect(view.over_under_ms).toBe(0);
    const totalMs = cycles.reduce((sum, c) => sum + c.duration_ms, 0);
    expect(clock.events.at(-1)).toMatchObject({ type: 'completed', atMs: T0 + totalMs });
    expect(clock.events.length).toBeLessThan(100);
  });

  it('overtime lets the cue run below zero until the operator switches; the overrun is drift', () => {
    const clock = show({ on_expire: 'overtime' });
    clock.run({ type: 'start' });
    clock.advance(7 * MINUTE).tick();
    expect(clock.view()).toMatchObject({
      status: 'running',
      cycle_index: 0,
      time_remaining_ms: -2 * MINUTE,
      phase: 'overtime',
      deadline_at: null,
    });
    expect(clock.events.at(-1)).toMatchObject({ type: 'overtime', atMs: T0 + 5 * MINUTE });
    const switched = clock.run({ type: 'switch' });
    expect(switched).toMatchObject({ cycle_index: 1, over_under_ms: 2 * MINUTE, phase: null });
    expect(switched.cycles?.[0]).toMatchObject({ actual_ms: 7 * MINUTE, over_under_ms: 2 * MINUTE });
  });

  it("freezes the cue's clock while paused; the pause counts in actual_ms (wall clock)", () => {
    const clock = show();
    clock.run({ type: 'start' });
    clock.advance(MINUTE);
    clock.run({ type: 'pause' });
    clock.advance(3 * MINUTE);
    expect(clock.view().time_remaining_ms).toBe(4 * MINUTE);
    clock.run({ type: 'resume' });
    expect(clock.view().deadline_at).toBe(T0 + 8 * MINUTE);
    clock.advance(2 * MINUTE);
    const view = clock.run({ type: 'switch' });
    expect(view.cycles?.[0]).toMatchObject({ actual_ms: 6 * MINUTE, over_under_ms: MINUTE });
  });

  it("adjusts the running cue's remaining time, not its plan", () => {
    const clock = show();
    clock.run({ type: 'start' });
    clock.advance(MINUTE);
    expect(clock.run({ type: 'adjust', deltaMs: 30_000 })).toMatchObject({
      time_remaining_ms: 4 * MINUTE + 30_000,
      deadline_at: T0 + 5 * MINUTE + 30_000,
    });
    expect(clock.view().cycles?.[0]?.planned_ms).toBe(5 * MINUTE);
  });

  it('runs phases on the running cue, each cue starting in the phase its own time says', () => {
    const clock = show({ phases: [{ name: 'wrap', remaining_ms: MINUTE }] });
    clock.run({ type: 'start' });
    clock.advance(4 * MINUTE).tick();
    expect(clock.events.at(-1)).toMatchObject({ type: 'phase_changed', atMs: T0 + 4 * MINUTE });
    expect(clock.run({ type: 'switch' })).toMatchObject({ phase: null, next_phase_at: T0 + 23 * MINUTE });
  });

  it('completing a running session ends the running cue there', () => {
    const clock = show();
    clock.run({ type: 'start' });
    clock.advance(2 * MINUTE);
    const view = clock.run({ type: 'complete' });
    expect(view.cycles?.[0]).toMatchObject({ actual_ms: 2 * MINUTE, over_under_ms: -3 * MINUTE });
    expect(view.over_under_ms).toBe(-3 * MINUTE);
  });
});

describe('a cue list refuses, changing nothing', () => {
  function refusedCreate(input: Partial<CreateSessionInput>): string[] {
    const error = refusalOf(
      () =>
        new EngineDriver({
          sync_mode: 'per_cycle',
          participants: players('host', 'speaker'),
          ...input,
        } as CreateSessionInput),
    );
    expect(error.code).toBe('VALIDATION_ERROR');
    return (error.details as { issues: Array<{ path: string }> }).issues.map((i) => i.path);
  }

  it('both cycles and time_per_cycle_ms, an unknown participant_id, skip_participant, cycles outside per_cycle', () => {
    expect(refusedCreate({ cycles: RUN_SHEET.slice(0, 1), time_per_cycle_ms: 1_000 })).toEqual(['cycles']);
    expect(refusedCreate({ cycles: [{ label: 'x', duration_ms: 1_000, participant_id: 'ghost' }] })).toEqual([
      'cycles.0.participant_id',
    ]);
    expect(
      refusedCreate({ cycles: [{ label: 'x', duration_ms: 1_000 }], on_expire: 'skip_participant' }),
    ).toEqual(['on_expire']);
    expect(refusedCreate({})).toEqual(['time_per_cycle_ms']);
    expect(
      refusedCreate({
        sync_mode: 'global',
        total_time_ms: 1_000,
        cycles: [{ label: 'x', duration_ms: 1_000 }],
      }),
    ).toEqual(['cycles']);
  });

  it.each<[string, SessionCommand, string, string]>([
    ['out of range', { type: 'switch', nextCycleIndex: 4 }, 'VALIDATION_ERROR', 'next_cycle_index'],
    ['the running cue', { type: 'switch', nextCycleIndex: 1 }, 'INVALID_STATE', ''],
    ['a cue that already ran', { type: 'switch', nextCycleIndex: 0 }, 'INVALID_STATE', ''],
    [
      'another participant than the cue names',
      { type: 'switch', nextCycleIndex: 3, nextParticipantId: 'speaker' },
      'VALIDATION_ERROR',
      'next_participant_id',
    ],
  ])('next_cycle_index %s', (_name, command, code, path) => {
    const clock = show();
    clock.run({ type: 'start' });
    clock.advance(MINUTE);
    clock.run({ type: 'switch' });
    clock.advance(MINUTE);
    const before = structuredClone(clock.state);
    const error = refusalOf(() => clock.run(command));
    expect(error.code).toBe(code);
    if (path !== '') expect(JSON.stringify(error.details)).toContain(path);
    expect(clock.state).toEqual(before);
  });

  it('next_cycle_index on a session without a cue list', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_cycle',
      participants: players('a', 'b'),
      time_per_cycle_ms: MINUTE,
    });
    clock.run({ type: 'start' });
    const before = structuredClone(clock.state);
    const error = refusalOf(() => clock.run({ type: 'switch', nextCycleIndex: 1 }));
    expect(error).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
    expect(JSON.stringify(error.details)).toContain('next_cycle_index');
    expect(clock.state).toEqual(before);
  });
});

const cueArb = fc.record({
  label: fc.constantFrom('a', 'b', 'c'),
  duration_ms: fc.integer({ min: 1, max: 20_000 }),
  participant_id: fc.option(fc.constantFrom('p0', 'p1', 'p2'), { nil: undefined }),
});

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 15_000 }).map((advanceMs) => ({ advanceMs })) },
  {
    weight: 15,
    arbitrary: fc
      .option(fc.integer({ min: 0, max: 12 }), { nil: undefined })
      .map((nextCycleIndex) => ({ command: { type: 'switch', nextCycleIndex } as SessionCommand })),
  },
  { weight: 4, arbitrary: fc.constant({ command: { type: 'pause' } as SessionCommand }) },
  { weight: 4, arbitrary: fc.constant({ command: { type: 'resume' } as SessionCommand }) },
  { weight: 1, arbitrary: fc.constant({ command: { type: 'complete' } as SessionCommand }) },
  {
    weight: 3,
    arbitrary: fc
      .integer({ min: -10_000, max: 10_000 })
      .filter((deltaMs) => deltaMs !== 0)
      .map((deltaMs) => ({ command: { type: 'adjust', deltaMs } as SessionCommand })),
  },
);

describe('cue list properties', () => {
  it('the drift is the sum of (actual − planned) of the finished cues, each actual the wall clock it ran, and a refusal changes nothing', () => {
    fc.assert(
      fc.property(
        fc.array(cueArb, { minLength: 1, maxLength: 10 }),
        fc.constantFrom('end_session', 'auto_advance', 'overtime' as const),
        fc.array(stepArb, { maxLength: 40 }),
        (cycles, on_expire, steps) => {
          const input: CreateSessionInput = {
            sync_mode: 'per_cycle',
            participants: players('p0', 'p1', 'p2'),
            cycles,
            on_expire,
          };
          expectRefusalsChangeNothing(input, [{ command: { type: 'start' } }, ...steps]);
          const clock = play(input, steps, (_clock, view) => {
            expect(view.over_under_ms).toBe(driftOf(view));
            for (const cue of view.cycles ?? []) {
              if (cue.actual_ms !== null) expect(cue.actual_ms).toBeGreaterThanOrEqual(0);
            }
          });
          // Every cue that ended ran from its start to the next cue's start (or the session's end).
          const starts = clock.events
            .filter((e) => ['started', 'switched', 'cycle_advanced'].includes(e.type))
            .map((e) => ({ atMs: e.state.cycleStartedAtMs, index: e.state.cueIndex }));
          const final = clock.view();
          for (let i = 0; i + 1 < starts.length; i++) {
            const cue = final.cycles?.[starts[i]!.index!];
            expect(cue?.actual_ms).toBe(starts[i + 1]!.atMs! - starts[i]!.atMs!);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('auto_advance alone: every cue runs exactly as planned, starting at the previous deadline', () => {
    fc.assert(
      fc.property(
        fc.array(cueArb, { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 20 }),
        (cycles, waits) => {
          const clock = new EngineDriver({
            sync_mode: 'per_cycle',
            participants: players('p0', 'p1', 'p2'),
            cycles,
            on_expire: 'auto_advance',
          });
          clock.run({ type: 'start' });
          for (const waitMs of waits) clock.advance(waitMs).tick();
          clock.advance(20 * 20_000).tick();
          const view = clock.view();
          expect(view.status).toBe('completed');
          expect(view.cycles?.map((c) => c.actual_ms)).toEqual(cycles.map((c) => c.duration_ms));
          expect(view.over_under_ms).toBe(0);
          let startMs = T0;
          const advances = clock.events.filter((e) => e.type === 'cycle_advanced' || e.type === 'completed');
          advances.forEach((e, i) => {
            startMs += cycles[i]!.duration_ms;
            expect(e.atMs).toBe(startMs);
          });
        },
      ),
    );
  });
});
