// reset: any session the store holds goes back to pending with the clocks it was created with,
// in every mode and with every option; the version goes on and the refusals change nothing.
import { describe, expect, it } from 'vitest';
import { createSessionState } from '../../../src/engine/createSession.js';
import { step } from '../../../src/engine/step.js';
import type { CreateSessionInput, SessionCommand, SessionState } from '../../../src/types/session.js';
import { EngineDriver, players, refusalOf, T0 } from '../../helpers/engineDriver.js';

const MINUTE = 60_000;

/** One session of each kind, with what its clocks can go through before the reset. */
const CASES: { name: string; input: CreateSessionInput; play: SessionCommand[] }[] = [
  {
    name: 'per_participant with handicaps, an increment, lag compensation and phases',
    input: {
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'w', total_time_ms: 3 * MINUTE }, { participant_id: 'b' }],
      total_time_ms: 5 * MINUTE,
      increment_ms: 2_000,
      lag_compensation: true,
      phases: [{ name: 'warning', remaining_ms: 4 * MINUTE }],
    },
    play: [
      { type: 'switch', transit: { roundTripMs: 300 } },
      { type: 'adjust', participantId: 'w', deltaMs: -10_000 },
      { type: 'switch', transit: { roundTripMs: 300 } },
    ],
  },
  {
    name: 'per_participant on byo-yomi, a participant on its own control',
    input: {
      sync_mode: 'per_participant',
      participants: [
        { participant_id: 'w', time_control: { type: 'fischer', initial_ms: MINUTE, increment_ms: 1_000 } },
        { participant_id: 'b' },
      ],
      time_control: { type: 'byoyomi', initial_ms: MINUTE, period_ms: 10_000, periods: 3 },
    },
    play: [{ type: 'switch' }, { type: 'switch' }],
  },
  {
    name: 'per_group with a group of its own bank',
    input: {
      sync_mode: 'per_group',
      participants: [
        { participant_id: 'a1', group_id: 'a' },
        { participant_id: 'b1', group_id: 'b' },
      ],
      groups: [{ group_id: 'b', total_time_ms: 2 * MINUTE }],
      total_time_ms: 4 * MINUTE,
      on_expire: 'skip_participant',
    },
    play: [{ type: 'switch' }, { type: 'adjust', groupId: 'a', deltaMs: 5_000 }],
  },
  {
    name: 'per_cycle cue list, run over into overtime, with a cue skipped',
    input: {
      sync_mode: 'per_cycle',
      participants: players('host', 'speaker'),
      on_expire: 'overtime',
      cycles: [
        { label: 'Welcome', duration_ms: 10_000, participant_id: 'speaker' },
        { label: 'Talk', duration_ms: 20_000 },
        { label: 'Q&A', duration_ms: 5_000 },
        { label: 'Close', duration_ms: 5_000, participant_id: 'host' },
      ],
    },
    play: [{ type: 'switch' }, { type: 'switch', nextCycleIndex: 3 }],
  },
  {
    name: 'per_cycle advancing on its own',
    input: {
      sync_mode: 'per_cycle',
      participants: players('p1', 'p2', 'p3'),
      time_per_cycle_ms: 20_000,
      on_expire: 'auto_advance',
    },
    play: [{ type: 'switch' }],
  },
  {
    name: 'global',
    input: { sync_mode: 'global', participants: players('p1', 'p2'), total_time_ms: 2 * MINUTE },
    play: [{ type: 'switch' }, { type: 'pause' }],
  },
  {
    name: 'count_up with laps',
    input: { sync_mode: 'count_up', participants: players('runner'), max_time_ms: 10 * MINUTE },
    play: [{ type: 'switch' }, { type: 'switch' }, { type: 'switch' }],
  },
  {
    name: 'a concurrent exam room, one clock completed, one paused',
    input: {
      sync_mode: 'per_participant',
      concurrent: true,
      participants: [{ participant_id: 's1', total_time_ms: 2 * MINUTE }, { participant_id: 's2' }],
      total_time_ms: MINUTE,
    },
    play: [
      { type: 'complete', participantId: 's1' },
      { type: 'pause', participantId: 's2' },
    ],
  },
];

/** The state without what a reset carries on from the session's history. */
function clocksOf(state: SessionState) {
  const { version: _v, updatedAtMs: _u, lastEvent: _e, ...clocks } = state;
  return clocks;
}

describe('reset', () => {
  for (const { name, input, play } of CASES) {
    it(`restores the first clocks: ${name}`, () => {
      const clock = new EngineDriver(input);
      const fresh = createSessionState(input, { sessionId: 'session-1', nowMs: T0 });
      clock.run({ type: 'start' });
      for (const command of play) {
        clock.advance(7_000).tick();
        clock.run(command);
      }
      clock.advance(30_000).tick();
      expect(clocksOf(clock.state)).not.toEqual(clocksOf(fresh));
      const before = clock.state.version;

      const view = clock.run({ type: 'reset' });

      expect(clocksOf(clock.state)).toEqual(clocksOf(fresh));
      expect(view).toMatchObject({ status: 'pending', event: 'reset', version: before + 1, start_at: null });
      expect(view.deadline_at).toBeNull();
      const event = clock.events.at(-1);
      expect(event).toMatchObject({ type: 'reset', version: before + 1, atMs: clock.nowMs });
      expect(event?.clocksAfter).not.toEqual(event?.clocksBefore);
    });
  }

  it('brings an expired session back, flag fallen and laps counted included', () => {
    const clock = new EngineDriver({
      sync_mode: 'global',
      participants: players('p1'),
      total_time_ms: 1_000,
    });
    clock.run({ type: 'start' });
    clock.advance(5_000).tick();
    expect(clock.view().status).toBe('expired');
    const view = clock.run({ type: 'reset' });
    expect(view).toMatchObject({ status: 'pending', time_remaining_ms: 1_000, active_participant_id: 'p1' });
    expect(view.participants[0]).toMatchObject({ has_expired: false, time_used_ms: 0, cycle_count: 0 });
    // Started again, it runs as it did the first time.
    clock.advance(100);
    clock.run({ type: 'start' });
    expect(clock.advance(400).tick().time_remaining_ms).toBe(600);
  });

  it('of a pending session undoes the adjusts made before start, as a new version', () => {
    const clock = new EngineDriver({
      sync_mode: 'global',
      participants: players('p1'),
      total_time_ms: 60_000,
    });
    clock.run({ type: 'adjust', deltaMs: 5_000 });
    const view = clock.run({ type: 'reset' });
    expect(view).toMatchObject({ version: 3, status: 'pending', event: 'reset', time_remaining_ms: 60_000 });
  });

  it('of a count_up session clears every lap and the lap count', () => {
    const clock = new EngineDriver({ sync_mode: 'count_up', participants: players('runner') });
    clock.run({ type: 'start' });
    for (let i = 0; i < 3; i++) clock.advance(1_000).run({ type: 'switch' });
    expect(clock.view().lap_count).toBe(3);
    const view = clock.run({ type: 'reset' });
    expect(view).toMatchObject({ laps: [], lap_count: 0, elapsed_ms: 0 });
  });

  it('is refused on a state stored before banks kept their own totals, changing nothing', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_participant',
      participants: [
        { participant_id: 'w', total_time_ms: MINUTE },
        { participant_id: 'b', total_time_ms: 2 * MINUTE },
      ],
    });
    for (const p of clock.state.participants) delete p.ownTotalTimeMs;
    const before = structuredClone(clock.state);
    expect(refusalOf(() => clock.run({ type: 'reset' })).code).toBe('INVALID_STATE');
    expect(clock.state).toEqual(before);
  });

  it('is refused on a cancelled session, and with a stale expected_version, changing nothing', () => {
    const clock = new EngineDriver({
      sync_mode: 'global',
      participants: players('p1'),
      total_time_ms: 60_000,
    });
    clock.run({ type: 'start' });
    clock.advance(1_000).run({ type: 'cancel' });
    const cancelled = structuredClone(clock.state);
    expect(refusalOf(() => clock.run({ type: 'reset' })).code).toBe('INVALID_STATE');
    expect(clock.state).toEqual(cancelled);

    const other = new EngineDriver({
      sync_mode: 'global',
      participants: players('p1'),
      total_time_ms: 60_000,
    });
    other.run({ type: 'start' });
    const outcome = step(other.state, { type: 'reset' }, other.nowMs, { expectedVersion: 1 });
    expect(outcome.refused && outcome.error).toMatchObject({ code: 'VERSION_CONFLICT' });
    expect(outcome.state).toEqual(other.state);
  });
});
