// per_cycle: every turn gets a fresh time_per_cycle_ms; the active participant's cycle runs,
// and when it reaches zero that participant is out, or the next cycle starts (auto_advance).
import { invalidState } from '../../types/errors.js';
import { activeParticipant } from '../participants.js';
import { shownRemainingMs, type SyncModeRules } from './mode.js';

export const perCycle: SyncModeRules = {
  fields: new Set(['time_per_cycle_ms']),
  participantFields: new Set(),
  onExpire: ['end_session', 'auto_advance', 'skip_participant', 'overtime'],

  issues: (input) =>
    input.time_per_cycle_ms === undefined
      ? [{ path: 'time_per_cycle_ms', message: "required in sync_mode 'per_cycle'" }]
      : [],
  initialize(state, input) {
    state.cycleBankMs = input.time_per_cycle_ms ?? 0;
  },

  clocks: (state) => [
    { participantId: null, groupId: null, flagInMs: state.cycleBankMs, runs: true, out: false, mark: state },
  ],
  charge(state, _active, elapsedMs) {
    state.cycleBankMs -= elapsedMs;
  },
  endTurn() {},
  switchesInPlaceWhenAlone: false,
  beginTurn(state) {
    state.cycleBankMs = state.config.timePerCycleMs ?? 0;
  },
  markOut(state) {
    const active = activeParticipant(state);
    if (active) active.hasExpired = true;
  },

  adjustableBank(state, _command, participant) {
    if (participant !== undefined && participant.participantId !== state.activeParticipantId) {
      throw invalidState('In per_cycle only the current cycle can be adjusted', {
        active_participant_id: state.activeParticipantId,
      });
    }
    return {
      name: 'the current cycle',
      get: () => state.cycleBankMs,
      set: (valueMs) => (state.cycleBankMs = valueMs),
      limitMs: Number.MAX_SAFE_INTEGER,
    };
  },

  writeParticipantClock(state, p, active, pendingMs, out) {
    const remainingMs = p.hasExpired
      ? 0
      : p === active
        ? state.cycleBankMs - pendingMs
        : (state.config.timePerCycleMs ?? 0);
    out.time_remaining_ms = shownRemainingMs(state, remainingMs);
  },
  addViewFields() {},
};
