// Lag compensation on the pure engine: what a move is charged, how the quota grows and is
// capped (lichess's LagTracker), and what the view and the stored state carry.
import { describe, expect, it } from 'vitest';
import { lagQuotaGainMs } from '../../../src/engine/lag.js';
import { encodeState } from '../../../src/state/stateCodec.js';
import { SyncKairosError } from '../../../src/types/errors.js';
import type { CreateSessionInput, MoveTransit } from '../../../src/types/session.js';
import { EngineDriver, players } from '../../helpers/engineDriver.js';

/** A 5-minute game: lichess's gain for it is its maximum, 1 s; the quota starts at 3 s and stops at 7 s. */
const blitz = (extra: Partial<CreateSessionInput> = {}) =>
  new EngineDriver({
    sync_mode: 'per_participant',
    participants: players('w', 'b'),
    total_time_ms: 300_000,
    lag_compensation: true,
    ...extra,
  });

function move(clock: EngineDriver, elapsedMs: number, transit?: MoveTransit) {
  clock.advance(elapsedMs);
  return clock.run({ type: 'switch', transit });
}

describe('lag compensation', () => {
  it('charges a move its elapsed time less the measured round trip, and reports it', () => {
    const clock = blitz();
    clock.run({ type: 'start' });
    move(clock, 2_000, { roundTripMs: 100 });
    const w = clock.participant('w');
    expect(w.time_remaining_ms).toBe(300_000 - 1_900);
    expect(w.time_used_ms).toBe(1_900);
    expect(w).toMatchObject({ lag_ms: 100, lag_comp_ms: 100, lag_quota_ms: 3_000 + 1_000 - 100 });
  });

  it('never compensates more than the quota, which is then spent', () => {
    const clock = blitz();
    clock.run({ type: 'start' });
    move(clock, 10_000, { roundTripMs: 5_000 });
    expect(clock.remaining('w')).toBe(300_000 - 7_000);
    expect(clock.participant('w')).toMatchObject({ lag_ms: 5_000, lag_comp_ms: 3_000, lag_quota_ms: 1_000 });
  });

  it('never compensates more than the move took', () => {
    const clock = blitz();
    clock.run({ type: 'start' });
    move(clock, 40, { roundTripMs: 100 });
    expect(clock.remaining('w')).toBe(300_000);
    expect(clock.participant('w')).toMatchObject({ lag_ms: 100, lag_comp_ms: 40, lag_quota_ms: 3_960 });
  });

  it('grows the quota by the gain with each move, up to 7 gains', () => {
    const clock = blitz();
    clock.run({ type: 'start' });
    const quotas: number[] = [];
    for (let i = 0; i < 12; i++) {
      move(clock, 1_000, { roundTripMs: 0 });
      if (i % 2 === 0) quotas.push(clock.participant('w').lag_quota_ms ?? -1);
    }
    expect(quotas).toEqual([4_000, 5_000, 6_000, 7_000, 7_000, 7_000]);
  });

  it('takes the gain from the length of the game as lichess estimates it', () => {
    expect(lagQuotaGainMs(60_000)).toBe(390); // 1+0: 60 s × 2/5 + 15 centiseconds
    expect(lagQuotaGainMs(180_000)).toBe(870); // 3+0
    expect(lagQuotaGainMs(300_000)).toBe(1_000); // 5+0: capped at 1 s
    const bullet = blitz({ total_time_ms: 60_000 });
    expect(bullet.participant('w').lag_quota_ms).toBe(3 * 390);
    // 1 min + 40 moves of 1 s increment: 100 s, a gain of 550 ms.
    const withIncrement = blitz({
      total_time_ms: undefined,
      time_control: { type: 'fischer', initial_ms: 60_000, increment_ms: 1_000 },
    });
    expect(withIncrement.participant('b').lag_quota_ms).toBe(3 * 550);
  });

  it('trusts a reported think time only up to the measured round trip plus 20 ms', () => {
    const clock = blitz();
    clock.run({ type: 'start' });
    move(clock, 3_000, { roundTripMs: 100, thinkMs: 1_000 });
    expect(clock.participant('w')).toMatchObject({ lag_ms: 120, lag_comp_ms: 120 });
    move(clock, 3_000, { roundTripMs: 100, thinkMs: 2_950 });
    expect(clock.participant('b')).toMatchObject({ lag_ms: 50, lag_comp_ms: 50 });
    expect(clock.remaining('b')).toBe(300_000 - 2_950);
  });

  it('charges a move without a measured transit (REST) in full, and the quota still grows', () => {
    const clock = blitz();
    clock.run({ type: 'start' });
    move(clock, 2_000);
    expect(clock.remaining('w')).toBe(298_000);
    expect(clock.participant('w')).toMatchObject({ lag_ms: 0, lag_comp_ms: 0, lag_quota_ms: 4_000 });
  });

  it('gives no grace after the flag: a move arriving after the deadline is too late', () => {
    const clock = blitz({ total_time_ms: 1_000 });
    clock.run({ type: 'start' });
    clock.advance(1_050);
    expect(() => clock.run({ type: 'switch', transit: { roundTripMs: 100 } })).toThrow(SyncKairosError);
    expect(clock.view().status).toBe('expired');
  });

  it('compensates the mover of a per_group session from its own quota', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_group',
      participants: [
        { participant_id: 'a', group_id: 'red' },
        { participant_id: 'b', group_id: 'blue' },
      ],
      total_time_ms: 300_000,
      lag_compensation: true,
    });
    clock.run({ type: 'start' });
    move(clock, 2_000, { roundTripMs: 150 });
    expect(clock.view().groups?.find((g) => g.group_id === 'red')?.time_remaining_ms).toBe(298_150);
    expect(clock.participant('a')).toMatchObject({ lag_comp_ms: 150 });
  });

  it('leaves a session without lag_compensation as it was: charged in full, nothing stored or shown', () => {
    const clock = blitz({ lag_compensation: undefined });
    clock.run({ type: 'start' });
    const view = move(clock, 2_000, { roundTripMs: 100 });
    expect(clock.remaining('w')).toBe(298_000);
    expect(view.lag_compensation).toBeUndefined();
    expect(Object.keys(clock.participant('w')).filter((k) => k.startsWith('lag'))).toEqual([]);
    expect(encodeState(clock.state)).not.toMatch(/lag/i);
  });

  it('is refused in the modes that have no moves to compensate', () => {
    for (const input of [
      { sync_mode: 'global', total_time_ms: 1_000 },
      { sync_mode: 'per_cycle', time_per_cycle_ms: 1_000 },
      { sync_mode: 'count_up' },
    ] as const) {
      expect(
        () => new EngineDriver({ ...input, participants: players('w'), lag_compensation: true }),
      ).toThrow(
        expect.objectContaining({
          code: 'VALIDATION_ERROR',
          details: {
            issues: [{ path: 'lag_compensation', message: `not used by sync_mode '${input.sync_mode}'` }],
          },
        }),
      );
    }
  });
});
