// count_up: elapsed time counts up from the start (pauses excluded); a switch records a lap,
// and the session runs out at max_time_ms, if it has one.
import type { SessionState } from '../../types/session.js';
import { activeParticipant } from '../participants.js';
import type { SyncModeRules } from './mode.js';

/** Laps kept in the state (and so in every frame); the audit trail records every lap. */
export const MAX_LAPS = 100;

export const countUp: SyncModeRules = {
  fields: new Set(['max_time_ms']),
  participantFields: new Set(),
  onExpire: ['end_session'],

  issues: () => [],
  initialize() {},

  clocks: (state) => [
    {
      participantId: null,
      groupId: null,
      flagInMs: state.config.maxTimeMs === null ? null : state.config.maxTimeMs - state.elapsedMs,
      runs: true,
      out: false,
      mark: state,
    },
  ],
  charge(state, _active, elapsedMs) {
    state.elapsedMs += elapsedMs;
  },
  endTurn(state, finishing) {
    state.lapCount = (state.lapCount ?? state.laps.length) + 1;
    state.laps.push({
      participantId: finishing.participantId,
      lapMs: state.elapsedMs - state.lapStartElapsedMs,
      elapsedMs: state.elapsedMs,
    });
    if (state.laps.length > MAX_LAPS) state.laps.splice(0, state.laps.length - MAX_LAPS);
    state.lapStartElapsedMs = state.elapsedMs;
  },
  switchesInPlaceWhenAlone: true,
  beginTurn() {},
  markOut(state) {
    const active = activeParticipant(state);
    if (active) active.hasExpired = true;
  },

  adjustableBank: (state) => ({
    name: 'the elapsed time',
    get: () => state.elapsedMs,
    set: (valueMs) => {
      state.elapsedMs = valueMs;
      state.lapStartElapsedMs = Math.min(state.lapStartElapsedMs, valueMs);
    },
    limitMs: state.config.maxTimeMs ?? Number.MAX_SAFE_INTEGER,
  }),

  writeParticipantClock(state, _p, _active, pendingMs, out) {
    out.time_remaining_ms = leftToMaxMs(state, pendingMs);
  },
  addViewFields(state, view, pendingMs) {
    view.elapsed_ms = state.elapsedMs + pendingMs;
    view.time_remaining_ms = leftToMaxMs(state, pendingMs);
    view.laps = state.laps.map((lap) => ({
      participant_id: lap.participantId,
      lap_ms: lap.lapMs,
      elapsed_ms: lap.elapsedMs,
    }));
    view.lap_count = state.lapCount ?? state.laps.length;
  },
};

function leftToMaxMs(state: SessionState, pendingMs: number): number | null {
  const maxTimeMs = state.config.maxTimeMs;
  return maxTimeMs === null ? null : Math.max(0, maxTimeMs - state.elapsedMs - pendingMs);
}
