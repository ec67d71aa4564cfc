// per_cycle: every turn gets a fresh time_per_cycle_ms (or, with a cue list, the next cue's
// planned time: ../cues.ts); the active participant's cycle runs, and when it reaches zero that
// participant is out, or the next cycle starts (auto_advance).
import { invalidState } from '../../types/errors.js';
import { cueIssues, hasCues, initializeCues, runningCuePlannedMs, writeCueView } from '../cues.js';
import { activeParticipant } from '../participants.js';
import { shownRemainingMs, type SyncModeRules } from './mode.js';

export const perCycle: SyncModeRules = {
  fields: new Set(['time_per_cycle_ms', 'cycles']),
  participantFields: new Set(),
  onExpire: ['end_session', 'auto_advance', 'skip_participant', 'overtime'],

  issues: (input) =>
    input.time_per_cycle_ms === undefined && input.cycles === undefined
      ? [{ path: 'time_per_cycle_ms', message: "required in sync_mode 'per_cycle' (or a cue list, cycles)" }]
      : cueIssues(input),
  initialize(state, input) {
    if (input.cycles !== undefined) initializeCues(state, input.cycles);
    else state.cycleBankMs = input.time_per_cycle_ms ?? 0;
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
    state.cycleBankMs = hasCues(state) ? runningCuePlannedMs(state) : (state.config.timePerCycleMs ?? 0);
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

  // A cue list has one clock, the running cue's: every participant shows it, as in global.
  writeParticipantClock(state, p, active, pendingMs, out) {
    const remainingMs = p.hasExpired
      ? 0
      : p === active || hasCues(state)
        ? state.cycleBankMs - pendingMs
        : (state.config.timePerCycleMs ?? 0);
    out.time_remaining_ms = shownRemainingMs(state, remainingMs);
  },
  addViewFields(state, view, pendingMs) {
    if (hasCues(state)) writeCueView(state, view, shownRemainingMs(state, state.cycleBankMs - pendingMs));
  },
};
