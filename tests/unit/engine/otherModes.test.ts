import { describe, expect, it } from 'vitest';
import { EngineDriver, players, T0 } from '../../helpers/engineDriver.js';

describe('per_cycle', () => {
  const auction = (on_expire: 'end_session' | 'auto_advance' | 'skip_participant' = 'end_session') =>
    new EngineDriver({
      sync_mode: 'per_cycle',
      participants: players('a', 'b', 'c'),
      time_per_cycle_ms: 10_000,
      on_expire,
    });

  it('each turn gets a fresh cycle', () => {
    const clock = auction();
    clock.run({ type: 'start' });
    clock.advance(7_000);
    expect(clock.remaining('a')).toBe(3_000);
    expect(clock.remaining('b')).toBe(10_000);
    clock.run({ type: 'switch' });
    clock.advance(1_000);
    expect(clock.remaining('b')).toBe(9_000);
    expect(clock.participant('a')).toMatchObject({
      time_used_ms: 7_000,
      cycle_count: 1,
      time_remaining_ms: 10_000,
    });
  });

  it('end_session: the session expires when a cycle runs out', () => {
    const clock = auction();
    clock.run({ type: 'start' });
    clock.advance(10_000);
    expect(clock.tick()).toMatchObject({ status: 'expired', active_participant_id: 'a' });
  });

  it('auto_advance starts the next cycle at the deadline, not when the server noticed', () => {
    const clock = auction('auto_advance');
    clock.run({ type: 'start' });
    clock.advance(10_250);
    const view = clock.tick();
    expect(view).toMatchObject({
      status: 'running',
      active_participant_id: 'b',
      version: 3,
      event: 'cycle_advanced',
    });
    expect(view.cycle_started_at).toBe(T0 + 10_000);
    expect(clock.remaining('b')).toBe(9_750);
    expect(clock.participant('a')).toMatchObject({ cycle_count: 1, time_used_ms: 10_000 });
  });

  it('auto_advance over a long absence lands on the right participant with bounded work', () => {
    const clock = auction('auto_advance');
    clock.run({ type: 'start' });
    // 1,000 cycles and 2.5 s: cycle 1,001 belongs to participant index 1000 % 3 = 1.
    clock.advance(10_002_500);
    const view = clock.tick();
    expect(view.active_participant_id).toBe('b');
    expect(clock.remaining('b')).toBe(7_500);
    const counts = view.participants.map((p) => p.cycle_count);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(1_000);
    expect(counts).toEqual([334, 333, 333]);
    expect(clock.events.length).toBeLessThan(100);
  });

  it('skip_participant: the participant whose cycle ran out is out', () => {
    const clock = auction('skip_participant');
    clock.run({ type: 'start' });
    clock.advance(10_000);
    const view = clock.tick();
    expect(view.active_participant_id).toBe('b');
    expect(view.participants[0]).toMatchObject({ has_expired: true, time_remaining_ms: 0 });
    expect(clock.run({ type: 'switch' }).active_participant_id).toBe('c');
    expect(clock.run({ type: 'switch' }).active_participant_id).toBe('b');
  });
});

describe('per_group', () => {
  const teams = () =>
    new EngineDriver({
      sync_mode: 'per_group',
      participants: [
        { participant_id: 'a1', group_id: 'red' },
        { participant_id: 'b1', group_id: 'blue' },
        { participant_id: 'a2', group_id: 'red' },
      ],
      groups: [{ group_id: 'blue', total_time_ms: 20_000 }],
      total_time_ms: 30_000,
      increment_ms: 1_000,
    });

  it("charges the active participant's group and credits its increment there", () => {
    const clock = teams();
    clock.run({ type: 'start' });
    clock.advance(4_000);
    const running = clock.view();
    expect(running.groups).toEqual([
      { group_id: 'red', time_remaining_ms: 26_000, time_used_ms: 4_000, has_expired: false },
      { group_id: 'blue', time_remaining_ms: 20_000, time_used_ms: 0, has_expired: false },
    ]);
    expect(clock.remaining('a2')).toBe(26_000);
    clock.run({ type: 'switch' });
    clock.advance(2_000);
    clock.run({ type: 'switch' });
    const view = clock.view();
    expect(view.active_participant_id).toBe('a2');
    expect(view.groups?.map((g) => g.time_remaining_ms)).toEqual([27_000, 19_000]);
    expect(clock.participant('a1').time_used_ms).toBe(4_000);
    expect(clock.participant('b1').time_used_ms).toBe(2_000);
  });

  it('skip_participant takes the whole group out', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_group',
      participants: [
        { participant_id: 'a1', group_id: 'red' },
        { participant_id: 'a2', group_id: 'red' },
        { participant_id: 'b1', group_id: 'blue' },
      ],
      total_time_ms: 1_000,
      on_expire: 'skip_participant',
    });
    clock.run({ type: 'start' });
    clock.advance(1_000);
    const view = clock.tick();
    expect(view.active_participant_id).toBe('b1');
    expect(view.participants.map((p) => p.has_expired)).toEqual([true, true, false]);
    expect(view.groups?.[0]?.has_expired).toBe(true);
  });

  it('adjust by group_id or by a member', () => {
    const clock = teams();
    clock.run({ type: 'adjust', groupId: 'blue', deltaMs: 5_000 });
    clock.run({ type: 'adjust', participantId: 'a2', deltaMs: -10_000 });
    expect(clock.view().groups?.map((g) => g.time_remaining_ms)).toEqual([20_000, 25_000]);
  });
});

describe('global', () => {
  const stage = () =>
    new EngineDriver({
      sync_mode: 'global',
      participants: players('speaker1', 'speaker2'),
      total_time_ms: 300_000,
    });

  it('a switch moves only the turn; the one bank keeps running', () => {
    const clock = stage();
    clock.run({ type: 'start' });
    clock.advance(60_000);
    const view = clock.run({ type: 'switch' });
    expect(view).toMatchObject({ active_participant_id: 'speaker2', time_remaining_ms: 240_000 });
    clock.advance(30_000);
    const later = clock.view();
    expect(later.time_remaining_ms).toBe(210_000);
    expect(later.participants.map((p) => p.time_remaining_ms)).toEqual([210_000, 210_000]);
    expect(later.participants.map((p) => p.time_used_ms)).toEqual([60_000, 30_000]);
    expect(later.deadline_at).toBe(T0 + 300_000);
  });

  it('expires the session when the bank is empty', () => {
    const clock = stage();
    clock.run({ type: 'start' });
    clock.advance(300_000);
    expect(clock.tick()).toMatchObject({ status: 'expired', time_remaining_ms: 0 });
  });
});

describe('count_up', () => {
  it('counts elapsed time, excluding pauses, and records laps on switch', () => {
    const clock = new EngineDriver({ sync_mode: 'count_up', participants: players('runner', 'second') });
    clock.run({ type: 'start' });
    clock.advance(1_500);
    clock.run({ type: 'pause' });
    clock.advance(10_000);
    clock.run({ type: 'resume' });
    clock.advance(500);
    clock.run({ type: 'switch' });
    clock.advance(700);
    const view = clock.view();
    expect(view.elapsed_ms).toBe(2_700);
    expect(view.laps).toEqual([{ participant_id: 'runner', lap_ms: 2_000, elapsed_ms: 2_000 }]);
    expect(view.time_remaining_ms).toBeNull();
    expect(view.participants[0]?.time_remaining_ms).toBeNull();
    expect(view.deadline_at).toBeNull();
  });

  it('expires when max_time_ms is reached', () => {
    const clock = new EngineDriver({
      sync_mode: 'count_up',
      participants: players('solo'),
      max_time_ms: 5_000,
    });
    clock.run({ type: 'start' });
    clock.advance(3_000);
    expect(clock.view()).toMatchObject({ time_remaining_ms: 2_000, deadline_at: T0 + 5_000 });
    clock.advance(4_000);
    expect(clock.tick()).toMatchObject({ status: 'expired', elapsed_ms: 5_000, time_remaining_ms: 0 });
  });
});

describe('create validation', () => {
  const invalid = (input: object) => {
    try {
      new EngineDriver(input as never);
    } catch (error) {
      return (error as { details: { issues: Array<{ path: string }> } }).details.issues.map((i) => i.path);
    }
    return [];
  };

  it('refuses duplicate participant ids', () => {
    expect(invalid({ sync_mode: 'global', total_time_ms: 1, participants: players('a', 'a') })).toEqual([
      'participants.1.participant_id',
    ]);
  });

  it('refuses fields the mode would ignore, and missing required ones', () => {
    expect(invalid({ sync_mode: 'per_cycle', participants: players('a'), increment_ms: 5 })).toEqual([
      'increment_ms',
      'time_per_cycle_ms',
    ]);
    expect(invalid({ sync_mode: 'per_participant', participants: players('a') })).toEqual([
      'participants.0.total_time_ms',
    ]);
    expect(invalid({ sync_mode: 'per_group', total_time_ms: 5, participants: players('a') })).toEqual([
      'participants.0.group_id',
    ]);
    expect(
      invalid({
        sync_mode: 'global',
        total_time_ms: 5,
        participants: players('a'),
        on_expire: 'auto_advance',
      }),
    ).toEqual(['on_expire']);
  });
});
