// A switch passes the turn to someone else, in every mode: handed back to its holder it would
// only refill or credit that clock (a fresh cycle, an increment) and let a player farm time.
import { describe, expect, it } from 'vitest';
import type { SyncKairosError } from '../../../src/types/errors.js';
import type { CreateSessionInput, SessionCommand, SyncMode } from '../../../src/types/session.js';
import { EngineDriver, players } from '../../helpers/engineDriver.js';

const MODES: SyncMode[] = ['per_participant', 'per_cycle', 'per_group', 'global', 'count_up'];

/** A session of `mode` with these participants (per_group: each in a group of its own). */
function sessionOf(mode: SyncMode, ids: string[], extra: Partial<CreateSessionInput> = {}): EngineDriver {
  const participants =
    mode === 'per_group' ? ids.map((id) => ({ participant_id: id, group_id: `g-${id}` })) : players(...ids);
  const timing: Record<SyncMode, Partial<CreateSessionInput>> = {
    per_participant: { total_time_ms: 60_000, increment_ms: 2_000 },
    per_cycle: { time_per_cycle_ms: 10_000 },
    per_group: { total_time_ms: 60_000, increment_ms: 2_000 },
    global: { total_time_ms: 60_000 },
    count_up: {},
  };
  return new EngineDriver({ sync_mode: mode, participants, ...timing[mode], ...extra } as CreateSessionInput);
}

/** The error the command is refused with; the state the driver holds is left as it was. */
function refusal(clock: EngineDriver, command: SessionCommand): SyncKairosError {
  const before = structuredClone(clock.state);
  let error: unknown;
  try {
    clock.run(command);
  } catch (err) {
    error = err;
  }
  expect(error, 'the command was accepted').toBeDefined();
  expect(clock.state).toEqual(before);
  return error as SyncKairosError;
}

describe('a switch never hands the turn to the participant who has it', () => {
  it.each(MODES)(
    '%s: a self-switch (next_participant_id = the active one) is refused with INVALID_STATE, and no clock moves',
    (mode) => {
      const clock = sessionOf(mode, ['white', 'black', 'red']);
      clock.run({ type: 'start' });
      clock.advance(1_000);
      const before = clock.view();
      for (let attempt = 0; attempt < 21; attempt++) {
        const error = refusal(clock, { type: 'switch', nextParticipantId: 'white' });
        expect(error).toMatchObject({
          code: 'INVALID_STATE',
          details: { active_participant_id: 'white', next_participant_id: 'white' },
        });
        expect(error.message).toContain('already has the turn');
      }
      // No increment, no fresh cycle, no lap: white's clock reads as it would have anyway.
      expect(clock.view()).toEqual(before);
      expect(clock.events.map((e) => e.type)).toEqual(['started']);
    },
  );

  it.each(MODES.filter((mode) => mode !== 'count_up'))(
    '%s: alone in the session, a switch is refused: the lone participant gets no fresh turn',
    (mode) => {
      const clock = sessionOf(mode, ['solo']);
      clock.run({ type: 'start' });
      clock.advance(1_000);
      const before = clock.view();
      const error = refusal(clock, { type: 'switch' });
      expect(error).toMatchObject({ code: 'INVALID_STATE', details: { active_participant_id: 'solo' } });
      expect(error.message).toContain("nobody but 'solo'");
      expect(clock.view()).toEqual(before);
    },
  );

  it('count_up: alone in the session, a switch is a split: a lap is recorded and nothing else moves', () => {
    const clock = sessionOf('count_up', ['solo']);
    clock.run({ type: 'start' });
    clock.advance(1_000);
    const split = clock.run({ type: 'switch' });
    expect(split).toMatchObject({ event: 'switched', active_participant_id: 'solo', elapsed_ms: 1_000 });
    expect(split.laps).toEqual([{ participant_id: 'solo', lap_ms: 1_000, elapsed_ms: 1_000 }]);
    clock.advance(500);
    expect(clock.view()).toMatchObject({ elapsed_ms: 1_500 });
    // Naming itself is still refused: only the split in order is in place.
    expect(refusal(clock, { type: 'switch', nextParticipantId: 'solo' })).toMatchObject({
      code: 'INVALID_STATE',
    });
  });

  it.each(['per_participant', 'per_cycle', 'per_group'] as const)(
    '%s: when skip_participant leaves only the active participant, its switch is refused and it still runs out',
    (mode) => {
      const clock = sessionOf(mode, ['white', 'black'], { on_expire: 'skip_participant' });
      clock.run({ type: 'start' });
      // White runs out; black plays on alone from white's deadline.
      clock.advance(mode === 'per_cycle' ? 10_000 : 60_000);
      expect(clock.tick()).toMatchObject({ active_participant_id: 'black', event: 'participant_expired' });
      clock.advance(3_000);
      const before = clock.view();
      const error = refusal(clock, { type: 'switch' });
      expect(error).toMatchObject({ code: 'INVALID_STATE', details: { active_participant_id: 'black' } });
      expect(clock.view()).toEqual(before);
      expect(clock.remaining('black')).toBe((mode === 'per_cycle' ? 10_000 : 60_000) - 3_000);
      // Nothing refilled black's clock, so its flag falls on time.
      clock.advance(mode === 'per_cycle' ? 7_000 : 57_000);
      expect(clock.tick()).toMatchObject({ status: 'expired', active_participant_id: 'black' });
    },
  );

  it('per_cycle auto_advance: a lone participant still gets its next cycle at the deadline', () => {
    const clock = sessionOf('per_cycle', ['solo'], { on_expire: 'auto_advance' });
    clock.run({ type: 'start' });
    clock.advance(10_500);
    expect(clock.tick()).toMatchObject({ status: 'running', event: 'cycle_advanced' });
    expect(clock.remaining('solo')).toBe(9_500);
  });
});
