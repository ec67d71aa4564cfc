// global: one bank for the whole session; a switch only moves the turn, and when the bank
// reaches zero everybody is out.
import { shownRemainingMs, type SyncModeRules } from './mode.js';

export const global: SyncModeRules = {
  fields: new Set(['total_time_ms']),
  participantFields: new Set(),
  onExpire: ['end_session', 'overtime'],

  issues: (input) =>
    input.total_time_ms === undefined
      ? [{ path: 'total_time_ms', message: "required in sync_mode 'global'" }]
      : [],
  initialize(state, input) {
    state.sessionBankMs = input.total_time_ms ?? 0;
  },

  clocks: (state) => [
    {
      participantId: null,
      groupId: null,
      flagInMs: state.sessionBankMs,
      runs: true,
      out: false,
      mark: state,
    },
  ],
  charge(state, _active, elapsedMs) {
    state.sessionBankMs -= elapsedMs;
  },
  endTurn() {},
  switchesInPlaceWhenAlone: false,
  beginTurn() {},
  markOut(state) {
    for (const p of state.participants) p.hasExpired = true;
  },

  adjustableBank: (state) => ({
    name: 'the session bank',
    get: () => state.sessionBankMs,
    set: (valueMs) => (state.sessionBankMs = valueMs),
    limitMs: Number.MAX_SAFE_INTEGER,
  }),

  writeParticipantClock(state, _p, _active, pendingMs, out) {
    out.time_remaining_ms = shownRemainingMs(state, state.sessionBankMs - pendingMs);
  },
  addViewFields(state, view, pendingMs) {
    view.time_remaining_ms = shownRemainingMs(state, state.sessionBankMs - pendingMs);
  },
};
