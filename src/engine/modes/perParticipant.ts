// per_participant: each participant has its own bank, run by its time control; the active
// participant's bank runs, a move ends its turn (increment, delay give-back, …), and the
// participant whose bank reaches zero is out.
import { validationError } from '../../types/errors.js';
import { bankRuns, isOut } from '../concurrent.js';
import { activeParticipant } from '../participants.js';
import { bankFlagInMs, bankIssues, chargeBank, endBankTurn, startBank, writeBankFace } from './banks.js';
import type { SyncModeRules } from './mode.js';

const UNLIMITED_MS = Number.MAX_SAFE_INTEGER;

export const perParticipant: SyncModeRules = {
  fields: new Set(['total_time_ms', 'increment_ms', 'time_control', 'lag_compensation', 'concurrent']),
  participantFields: new Set(['total_time_ms', 'time_control']),
  onExpire: ['end_session', 'skip_participant', 'overtime'],

  issues: (input) =>
    bankIssues(
      input,
      input.participants.map((p, index) => ({
        path: `participants.${index}`,
        name: `participant '${p.participant_id}'`,
        total_time_ms: p.total_time_ms,
        time_control: p.time_control,
      })),
      'participant',
    ),

  initialize(state, input) {
    if (input.time_control !== undefined) state.config.timeControl = input.time_control;
    state.participants.forEach((p, index) => {
      const own = input.participants[index];
      startBank(p, own, state, input.total_time_ms ?? 0);
    });
  },

  clocks: (state) =>
    state.participants.map((p) => ({
      participantId: p.participantId,
      groupId: null,
      flagInMs: bankFlagInMs(state, p),
      runs: bankRuns(state, p, p.participantId === state.activeParticipantId),
      out: isOut(p),
      mark: p,
    })),
  charge: (state, active, elapsedMs) => chargeBank(state, active, state.participants, elapsedMs),
  endTurn: (state, finishing) => endBankTurn(state, finishing),
  switchesInPlaceWhenAlone: false,
  beginTurn() {},
  markOut(state) {
    const active = activeParticipant(state);
    if (active) active.hasExpired = true;
  },

  adjustableBank(_state, _command, p) {
    if (!p) {
      throw validationError([{ path: 'participant_id', message: "required in sync_mode 'per_participant'" }]);
    }
    return {
      name: `${p.participantId}'s bank`,
      get: () => p.bankMs,
      set: (valueMs) => (p.bankMs = valueMs),
      limitMs: UNLIMITED_MS,
    };
  },

  writeParticipantClock(state, p, active, pendingMs, out) {
    writeBankFace(state, p, active, pendingMs, out);
    if (p.timeControl !== undefined) out.time_control = p.timeControl;
  },
  addViewFields() {},
};
