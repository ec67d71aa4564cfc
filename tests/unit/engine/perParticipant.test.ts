import { describe, expect, it } from 'vitest';
import { SyncKairosError } from '../../../src/types/errors.js';
import { EngineDriver, players, T0 } from '../../helpers/engineDriver.js';

const chess = () =>
  new EngineDriver({
    sync_mode: 'per_participant',
    participants: players('white', 'black'),
    total_time_ms: 60_000,
    increment_ms: 2_000,
  });

describe('per_participant', () => {
  it('creates version 1, pending, first participant active, full banks', () => {
    const clock = chess();
    const view = clock.view();
    expect(view).toMatchObject({
      version: 1,
      status: 'pending',
      active_participant_id: 'white',
      event: 'created',
    });
    expect(view.participants.map((p) => p.time_remaining_ms)).toEqual([60_000, 60_000]);
    expect(view.deadline_at).toBeNull();
  });

  it('only the active bank runs, and time is calculated from the anchor', () => {
    const clock = chess();
    clock.run({ type: 'start' });
    clock.advance(1_234);
    expect(clock.remaining('white')).toBe(58_766);
    expect(clock.remaining('black')).toBe(60_000);
    expect(clock.participant('white').time_used_ms).toBe(1_234);
    expect(clock.view().deadline_at).toBe(T0 + 60_000);
  });

  it('a switch charges the elapsed time, adds the increment and passes the turn', () => {
    const clock = chess();
    clock.run({ type: 'start' });
    clock.advance(5_000);
    const view = clock.run({ type: 'switch' });
    expect(view).toMatchObject({ version: 3, event: 'switched', active_participant_id: 'black' });
    expect(clock.remaining('white')).toBe(57_000);
    expect(clock.participant('white').cycle_count).toBe(1);
    clock.advance(1_000);
    expect(clock.remaining('white')).toBe(57_000);
    expect(clock.remaining('black')).toBe(59_000);
  });

  it('switch to a named participant', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_participant',
      participants: players('a', 'b', 'c'),
      total_time_ms: 10_000,
    });
    clock.run({ type: 'start' });
    expect(clock.run({ type: 'switch', nextParticipantId: 'c' }).active_participant_id).toBe('c');
    expect(clock.run({ type: 'switch' }).active_participant_id).toBe('a');
  });

  it('a switch after the flag fell does not save it', () => {
    const clock = chess();
    clock.run({ type: 'start' });
    clock.advance(60_001);
    expect(() => clock.run({ type: 'switch' })).toThrowError(/expired/);
    const view = clock.view();
    expect(view.status).toBe('expired');
    expect(view.participants[0]).toMatchObject({
      time_remaining_ms: 0,
      has_expired: true,
      time_used_ms: 60_000,
    });
    // The expiry is stamped at the deadline, not when the switch arrived.
    expect(clock.events.at(-1)).toMatchObject({ type: 'expired', atMs: T0 + 60_000, version: 3 });
  });

  it('a switch at exactly the deadline is too late', () => {
    const clock = chess();
    clock.run({ type: 'start' });
    clock.advance(60_000);
    expect(() => clock.run({ type: 'switch' })).toThrow(SyncKairosError);
    expect(clock.view().status).toBe('expired');
  });

  it('pause freezes every clock and resume continues exactly where it stopped', () => {
    const clock = chess();
    clock.run({ type: 'start' });
    clock.advance(3_000);
    clock.run({ type: 'pause' });
    clock.advance(3_600_000);
    expect(clock.remaining('white')).toBe(57_000);
    expect(clock.view().deadline_at).toBeNull();
    clock.run({ type: 'resume' });
    clock.advance(500);
    expect(clock.remaining('white')).toBe(56_500);
  });

  it('skip_participant takes the expired player out and the rest go on from the deadline', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_participant',
      participants: [
        { participant_id: 'a', total_time_ms: 1_000 },
        { participant_id: 'b', total_time_ms: 5_000 },
        { participant_id: 'c', total_time_ms: 5_000 },
      ],
      on_expire: 'skip_participant',
    });
    clock.run({ type: 'start' });
    clock.advance(1_500);
    const view = clock.view();
    expect(view.status).toBe('running');
    expect(view.active_participant_id).toBe('b');
    expect(view.participants[0]).toMatchObject({ has_expired: true, time_remaining_ms: 0 });
    // b has been running since a's deadline, not since the server noticed.
    expect(clock.remaining('b')).toBe(4_500);
    expect(clock.run({ type: 'switch' }).active_participant_id).toBe('c');
    expect(clock.run({ type: 'switch' }).active_participant_id).toBe('b');
    expect(() => clock.run({ type: 'switch', nextParticipantId: 'a' })).toThrowError(/out/);
  });

  it('the session expires when the last participant runs out under skip_participant', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_participant',
      participants: players('a', 'b'),
      total_time_ms: 1_000,
      on_expire: 'skip_participant',
    });
    clock.run({ type: 'start' });
    clock.advance(5_000);
    expect(clock.tick()).toMatchObject({ status: 'expired', version: 4 });
    expect(clock.events.map((e) => e.type)).toEqual(['started', 'participant_expired', 'expired']);
  });

  it('start_at keeps every clock full until the scheduled start', () => {
    const clock = chess();
    clock.run({ type: 'start', startAtMs: T0 + 10_000 });
    clock.advance(9_000);
    expect(clock.view()).toMatchObject({
      status: 'running',
      start_at: T0 + 10_000,
      deadline_at: T0 + 70_000,
    });
    expect(clock.remaining('white')).toBe(60_000);
    expect(() => clock.run({ type: 'switch' })).toThrowError(/before the session starts/);
    clock.advance(2_000);
    expect(clock.remaining('white')).toBe(59_000);
  });

  it('refuses a start_at in the past', () => {
    const clock = chess();
    expect(() => clock.run({ type: 'start', startAtMs: T0 - 1 })).toThrowError(/start_at/);
    expect(clock.view().status).toBe('pending');
  });

  it('adjust changes one bank, and cannot make it negative', () => {
    const clock = chess();
    clock.run({ type: 'start' });
    clock.advance(10_000);
    clock.run({ type: 'adjust', participantId: 'white', deltaMs: 15_000 });
    expect(clock.remaining('white')).toBe(65_000);
    clock.run({ type: 'adjust', participantId: 'black', deltaMs: -30_000 });
    expect(clock.remaining('black')).toBe(30_000);
    expect(() => clock.run({ type: 'adjust', participantId: 'black', deltaMs: -30_001 })).toThrowError(
      /delta_ms/,
    );
    expect(clock.remaining('black')).toBe(30_000);
  });

  it('an adjust that empties the running bank makes the flag fall at once', () => {
    const clock = chess();
    clock.run({ type: 'start' });
    clock.advance(10_000);
    clock.run({ type: 'adjust', participantId: 'white', deltaMs: -50_000 });
    expect(clock.view().status).toBe('expired');
    expect(clock.events.map((e) => e.type)).toEqual(['started', 'adjusted', 'expired']);
  });

  it('complete stops the clocks for good', () => {
    const clock = chess();
    clock.run({ type: 'start' });
    clock.advance(2_000);
    clock.run({ type: 'complete' });
    clock.advance(100_000);
    expect(clock.view()).toMatchObject({ status: 'completed', deadline_at: null });
    expect(clock.remaining('white')).toBe(58_000);
    for (const type of ['switch', 'pause', 'resume', 'start'] as const) {
      expect(() => clock.run({ type })).toThrowError(/completed/);
    }
  });

  it('commands in the wrong status are refused with INVALID_STATE', () => {
    const clock = chess();
    const attempt = (type: 'switch' | 'pause' | 'resume') => {
      try {
        clock.run({ type });
      } catch (error) {
        return (error as SyncKairosError).code;
      }
      return 'ok';
    };
    expect(attempt('switch')).toBe('INVALID_STATE');
    expect(attempt('pause')).toBe('INVALID_STATE');
    clock.run({ type: 'start' });
    expect(attempt('resume')).toBe('INVALID_STATE');
    clock.run({ type: 'pause' });
    expect(attempt('switch')).toBe('INVALID_STATE');
    expect(clock.view().version).toBe(3);
  });
});
