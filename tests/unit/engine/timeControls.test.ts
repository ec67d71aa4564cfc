// Each time control on the engine, one worked case at a time, with a clock the test moves.
import { describe, expect, it } from 'vitest';
import { SyncKairosError } from '../../../src/types/errors.js';
import type { CreateSessionInput } from '../../../src/types/session.js';
import type { TimeControl } from '../../../src/types/timeControl.js';
import { EngineDriver, players, T0 } from '../../helpers/engineDriver.js';

const game = (time_control: TimeControl, extra: Partial<CreateSessionInput> = {}) =>
  new EngineDriver({ sync_mode: 'per_participant', participants: players('w', 'b'), time_control, ...extra });

/** Plays one move of `thinkMs` by whoever is on move. */
function move(clock: EngineDriver, thinkMs: number): void {
  clock.advance(thinkMs);
  clock.run({ type: 'switch' });
}

describe('fischer', () => {
  it('adds the increment after each move, never beyond max_ms', () => {
    const clock = game({ type: 'fischer', initial_ms: 10_000, increment_ms: 3_000, max_ms: 11_000 });
    clock.run({ type: 'start' });
    move(clock, 1_000);
    expect(clock.remaining('w')).toBe(11_000); // 9,000 + 3,000 capped at 11,000
    move(clock, 4_000);
    expect(clock.remaining('b')).toBe(9_000); // 6,000 + 3,000
  });

  it('the cap never takes away what an adjustment gave', () => {
    const clock = game({ type: 'fischer', initial_ms: 10_000, increment_ms: 3_000, max_ms: 11_000 });
    clock.run({ type: 'start' });
    clock.run({ type: 'adjust', participantId: 'w', deltaMs: 5_000 });
    move(clock, 1_000);
    expect(clock.remaining('w')).toBe(14_000);
  });

  it('total_time_ms + increment_ms is the same clock as fischer without a cap', () => {
    const shorthand = new EngineDriver({
      sync_mode: 'per_participant',
      participants: players('w', 'b'),
      total_time_ms: 10_000,
      increment_ms: 2_000,
    });
    const control = game({ type: 'fischer', initial_ms: 10_000, increment_ms: 2_000 });
    for (const clock of [shorthand, control]) {
      clock.run({ type: 'start' });
      move(clock, 3_000);
      move(clock, 500);
      clock.advance(700);
    }
    const clocks = (clock: EngineDriver) => clock.view().participants.map((p) => p.time_remaining_ms);
    expect(clocks(control)).toEqual(clocks(shorthand));
    expect(control.view().deadline_at).toBe(shorthand.view().deadline_at);
  });
});

describe('bronstein', () => {
  it('runs at once and gives back what the move used, up to delay_ms', () => {
    const clock = game({ type: 'bronstein', initial_ms: 60_000, delay_ms: 5_000 });
    clock.run({ type: 'start' });
    clock.advance(3_000);
    expect(clock.participant('w')).toMatchObject({ time_remaining_ms: 57_000, delay_remaining_ms: 2_000 });
    expect(clock.view().deadline_at).toBe(T0 + 60_000);
    clock.run({ type: 'switch' });
    expect(clock.participant('w')).toMatchObject({ time_remaining_ms: 60_000, delay_remaining_ms: 5_000 });
    move(clock, 8_000); // black used 8 s: gets 5 s back
    expect(clock.remaining('b')).toBe(57_000);
  });
});

describe('delay', () => {
  it('keeps the bank still for the first delay_ms of each turn; the flag falls at turn start + delay + bank', () => {
    const clock = game({ type: 'delay', initial_ms: 10_000, delay_ms: 2_000 });
    clock.run({ type: 'start' });
    expect(clock.view().deadline_at).toBe(T0 + 12_000);
    clock.advance(1_500);
    expect(clock.participant('w')).toMatchObject({ time_remaining_ms: 10_000, delay_remaining_ms: 500 });
    clock.advance(1_000);
    expect(clock.participant('w')).toMatchObject({ time_remaining_ms: 9_500, delay_remaining_ms: 0 });
    clock.run({ type: 'switch' });
    expect(clock.participant('w')).toMatchObject({ time_remaining_ms: 9_500, delay_remaining_ms: 2_000 });
    move(clock, 100);
    // White's turn starts at T0 + 2,600: flag at + 2,000 + 9,500.
    expect(clock.view().deadline_at).toBe(T0 + 2_600 + 11_500);
    clock.advance(11_499);
    expect(clock.tick().status).toBe('running');
    clock.advance(1);
    expect(clock.tick().status).toBe('expired');
    expect(clock.events.at(-1)).toMatchObject({ type: 'expired', atMs: T0 + 14_100 });
  });

  it('a pause inside the delay keeps what is left of it', () => {
    const clock = game({ type: 'delay', initial_ms: 10_000, delay_ms: 2_000 });
    clock.run({ type: 'start' });
    clock.advance(1_200);
    clock.run({ type: 'pause' });
    clock.advance(60_000);
    clock.run({ type: 'resume' });
    expect(clock.participant('w')).toMatchObject({ time_remaining_ms: 10_000, delay_remaining_ms: 800 });
    expect(clock.view().deadline_at).toBe(clock.nowMs + 10_800);
  });
});

describe('stages', () => {
  const classical: TimeControl = {
    type: 'stages',
    stages: [
      { moves: 2, time_ms: 10_000, increment_ms: 1_000 },
      { time_ms: 5_000, increment_ms: 500 },
    ],
  };

  it("adds the next stage's time exactly on the move that completes a stage", () => {
    const clock = game(classical);
    clock.run({ type: 'start' });
    expect(clock.participant('w')).toMatchObject({ stage_index: 0, moves_to_next_stage: 2 });
    move(clock, 1_000); // w: 10,000 − 1,000 + 1,000
    expect(clock.participant('w')).toMatchObject({
      time_remaining_ms: 10_000,
      stage_index: 0,
      moves_to_next_stage: 1,
    });
    move(clock, 1_000); // b
    move(clock, 2_000); // w's second move completes stage 0: + 1,000, then + 5,000
    expect(clock.participant('w')).toMatchObject({
      time_remaining_ms: 14_000,
      stage_index: 1,
      moves_to_next_stage: null,
    });
    move(clock, 500); // b
    move(clock, 1_000); // w, in the last stage: + 500
    expect(clock.remaining('w')).toBe(13_500);
  });

  it("a stage's delay_ms is a simple delay", () => {
    const clock = game({ type: 'stages', stages: [{ time_ms: 5_000, delay_ms: 1_000 }] });
    clock.run({ type: 'start' });
    expect(clock.view().deadline_at).toBe(T0 + 6_000);
    move(clock, 1_500);
    expect(clock.participant('w')).toMatchObject({ time_remaining_ms: 4_500, delay_remaining_ms: 1_000 });
  });
});

describe('byoyomi', () => {
  const control: TimeControl = { type: 'byoyomi', initial_ms: 2_000, period_ms: 1_000, periods: 3 };

  it('main time first, then periods; a move inside a period refills it', () => {
    const clock = game(control);
    clock.run({ type: 'start' });
    expect(clock.view().deadline_at).toBe(T0 + 5_000);
    clock.advance(2_400);
    expect(clock.participant('w')).toMatchObject({
      time_remaining_ms: 0,
      periods_left: 3,
      period_remaining_ms: 600,
    });
    clock.run({ type: 'switch' });
    expect(clock.participant('w')).toMatchObject({ periods_left: 3, period_remaining_ms: 1_000 });
  });

  it('each period overrun costs one; a period reaching exactly zero has run out', () => {
    const clock = game(control);
    clock.run({ type: 'start' });
    move(clock, 2_000 + 1_000 + 300); // main time, one whole period, 300 ms of the next
    expect(clock.participant('w')).toMatchObject({ periods_left: 2, period_remaining_ms: 1_000 });
    move(clock, 0);
    move(clock, 1_000); // exactly one period: it ran out
    expect(clock.participant('w')).toMatchObject({ periods_left: 1, period_remaining_ms: 1_000 });
    move(clock, 0);
    move(clock, 200); // w is in byo-yomi: a move inside the last period refills it
    expect(clock.participant('w')).toMatchObject({ periods_left: 1, period_remaining_ms: 1_000 });
    expect(clock.view().status).toBe('running');
  });

  it('the flag falls when the last period runs out, at that instant', () => {
    const clock = game(control);
    clock.run({ type: 'start' });
    clock.advance(9_999);
    expect(() => clock.run({ type: 'switch' })).toThrowError(/expired/);
    expect(clock.events.at(-1)).toMatchObject({ type: 'expired', atMs: T0 + 5_000 });
    expect(clock.participant('w')).toMatchObject({
      periods_left: 0,
      period_remaining_ms: 0,
      has_expired: true,
    });
  });
});

describe('canadian', () => {
  it('after main time, moves_per_period moves in each period; done in time, the period starts afresh', () => {
    const clock = game({ type: 'canadian', initial_ms: 1_000, period_ms: 10_000, moves_per_period: 2 });
    clock.run({ type: 'start' });
    expect(clock.participant('w')).toMatchObject({ period_remaining_ms: 10_000, moves_left_in_period: 2 });
    move(clock, 3_000); // main time out, 2,000 of the period, one move of two made
    expect(clock.participant('w')).toMatchObject({
      time_remaining_ms: 0,
      period_remaining_ms: 8_000,
      moves_left_in_period: 1,
    });
    move(clock, 0);
    move(clock, 5_000); // the period's second move: it starts afresh
    expect(clock.participant('w')).toMatchObject({ period_remaining_ms: 10_000, moves_left_in_period: 2 });
    move(clock, 0);
    clock.advance(10_000);
    expect(clock.tick().status).toBe('expired');
  });
});

describe('hourglass', () => {
  it('the mover loses what the other gains', () => {
    const clock = game({ type: 'hourglass', initial_ms: 10_000 });
    clock.run({ type: 'start' });
    clock.advance(3_000);
    expect([clock.remaining('w'), clock.remaining('b')]).toEqual([7_000, 13_000]);
    clock.run({ type: 'switch' });
    clock.advance(1_000);
    expect([clock.remaining('w'), clock.remaining('b')]).toEqual([8_000, 12_000]);
    clock.advance(20_000);
    expect(clock.tick().status).toBe('expired');
    expect([clock.remaining('w'), clock.remaining('b')]).toEqual([20_000, 0]);
  });

  it('per_group: the two groups are the two sides', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_group',
      participants: [
        { participant_id: 'a1', group_id: 'A' },
        { participant_id: 'b1', group_id: 'B' },
        { participant_id: 'a2', group_id: 'A' },
      ],
      time_control: { type: 'hourglass', initial_ms: 5_000 },
    });
    clock.run({ type: 'start' });
    clock.advance(1_000);
    expect(clock.view().groups?.map((g) => g.time_remaining_ms)).toEqual([4_000, 6_000]);
    expect(clock.remaining('a2')).toBe(4_000);
  });
});

describe('per participant and per group controls', () => {
  it("a participant's own time_control overrides the session's (a handicap)", () => {
    const clock = new EngineDriver({
      sync_mode: 'per_participant',
      participants: [
        { participant_id: 'master', time_control: { type: 'fischer', initial_ms: 3_000, increment_ms: 0 } },
        { participant_id: 'novice' },
      ],
      time_control: { type: 'byoyomi', initial_ms: 10_000, period_ms: 1_000, periods: 1 },
    });
    const view = clock.view();
    expect(view.participants[0]).toMatchObject({
      time_remaining_ms: 3_000,
      time_control: { type: 'fischer' },
    });
    expect(view.participants[0]).not.toHaveProperty('periods_left');
    expect(view.participants[1]).toMatchObject({ time_remaining_ms: 10_000, periods_left: 1 });
    expect(view.participants[1]).not.toHaveProperty('time_control');
    expect(view.time_control).toMatchObject({ type: 'byoyomi' });
  });

  it('per_group: a group runs by its own control, and its members show its face', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_group',
      participants: [
        { participant_id: 'a1', group_id: 'A' },
        { participant_id: 'b1', group_id: 'B' },
      ],
      groups: [{ group_id: 'B', time_control: { type: 'delay', initial_ms: 4_000, delay_ms: 1_000 } }],
      time_control: { type: 'fischer', initial_ms: 5_000, increment_ms: 500 },
    });
    clock.run({ type: 'start' });
    move(clock, 1_000);
    clock.advance(1_500);
    const view = clock.view();
    expect(view.groups).toEqual([
      { group_id: 'A', time_remaining_ms: 4_500, time_used_ms: 1_000, has_expired: false },
      {
        group_id: 'B',
        time_remaining_ms: 3_500,
        time_used_ms: 1_500,
        has_expired: false,
        delay_remaining_ms: 0,
        time_control: { type: 'delay', initial_ms: 4_000, delay_ms: 1_000 },
      },
    ]);
    expect(clock.participant('b1')).toMatchObject({ time_remaining_ms: 3_500, delay_remaining_ms: 0 });
  });
});

describe('bad time controls', () => {
  function issues(input: CreateSessionInput): string[] {
    try {
      new EngineDriver(input);
    } catch (error) {
      if (!(error instanceof SyncKairosError)) throw error;
      return (error.details as { issues: { path: string }[] }).issues.map((issue) => issue.path);
    }
    throw new Error('created');
  }
  const two = players('w', 'b');

  it('stages must end with an unlimited stage, and every other stage needs moves', () => {
    expect(
      issues({
        sync_mode: 'per_participant',
        participants: two,
        time_control: { type: 'stages', stages: [{ time_ms: 1_000 }, { moves: 3, time_ms: 1_000 }] },
      }),
    ).toEqual(['time_control.stages.0.moves', 'time_control.stages.1.moves']);
  });

  it('hourglass pairs exactly two clocks, both on hourglass, and ends when either runs out', () => {
    expect(
      issues({
        sync_mode: 'per_participant',
        participants: players('a', 'b', 'c'),
        time_control: { type: 'hourglass', initial_ms: 1_000 },
      }),
    ).toEqual(['participants']);
    expect(
      issues({
        sync_mode: 'per_participant',
        participants: [
          { participant_id: 'a', time_control: { type: 'hourglass', initial_ms: 1_000 } },
          { participant_id: 'b' },
        ],
        total_time_ms: 1_000,
      }),
    ).toEqual(['participants.1.time_control']);
    expect(
      issues({
        sync_mode: 'per_participant',
        participants: two,
        time_control: { type: 'hourglass', initial_ms: 1_000 },
        on_expire: 'skip_participant',
      }),
    ).toEqual(['on_expire']);
  });

  it('a mode without banks takes no time control', () => {
    for (const sync_mode of ['per_cycle', 'global', 'count_up'] as const) {
      const found = issues({
        sync_mode,
        participants: [{ participant_id: 'a', time_control: { type: 'hourglass', initial_ms: 1_000 } }],
        time_control: { type: 'fischer', initial_ms: 1_000, increment_ms: 0 },
      });
      expect(found).toEqual(expect.arrayContaining(['time_control', 'participants.0.time_control']));
    }
  });

  it('time_control and total_time_ms + increment_ms are two ways to say one thing: not both', () => {
    expect(
      issues({
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'a', total_time_ms: 5 }, { participant_id: 'b' }],
        total_time_ms: 1_000,
        increment_ms: 10,
        time_control: { type: 'fischer', initial_ms: 1_000, increment_ms: 0, max_ms: 999 },
      }).sort(),
    ).toEqual(['increment_ms', 'participants.0.total_time_ms', 'time_control.max_ms', 'total_time_ms']);
  });

  it('every bank needs its time from somewhere', () => {
    expect(
      issues({
        sync_mode: 'per_group',
        participants: [
          { participant_id: 'a', group_id: 'A' },
          { participant_id: 'b', group_id: 'B' },
        ],
        groups: [{ group_id: 'A', time_control: { type: 'delay', initial_ms: 1_000, delay_ms: 100 } }],
      }),
    ).toEqual(['groups']);
  });
});
