// What time alone changes: flag fall, phase crossings, overtime. Every change that is due by
// `nowMs` is applied at its own instant, in order, so the outcome depends on server time and
// never on when a request was processed.
import type { SessionEvent, SessionState } from '../types/session.js';
import { beginTurn, chargeElapsed } from './clocks.js';
import { advanceCueAt, fastForwardCues, finishCue, hasCues } from './cues.js';
import { followClocks, isConcurrent, markClockExpired, ownBanks, participantIdOf } from './concurrent.js';
import { modeOf } from './modes/index.js';
import type { ModeClock } from './modes/mode.js';
import { activeParticipant, nextParticipantInOrder } from './participants.js';
import { flagAtMs, nextDueChange, type DueChange } from './phases.js';
import { recordChange, type Transition } from './transition.js';
import { clockSnapshot } from './view.js';

/**
 * Consecutive auto_advance cycles applied one version each before the rest are skipped in
 * one step, so a session left alone for a long time costs bounded work.
 */
const MAX_CYCLES_ONE_BY_ONE = 64;

export function applyDueExpiries(current: SessionState, nowMs: number): Transition {
  // The common case, nothing due: no copy (states are never changed in place once made).
  const first = dueChange(current);
  if (first === null || first.atMs > nowMs) return { state: current, events: [] };
  const state = structuredClone(current);
  const events: SessionEvent[] = [];
  let cyclesAdvanced = 0;
  for (let due = dueChange(state); due !== null && due.atMs <= nowMs; due = dueChange(state)) {
    if (due.kind !== 'flag') {
      announcePhase(state, events, due);
      continue;
    }
    if (state.config.onExpire === 'auto_advance' && cyclesAdvanced >= MAX_CYCLES_ONE_BY_ONE) {
      if (hasCues(state)) skipCues(state, events, nowMs);
      else fastForwardCycles(state, events, nowMs);
      break;
    }
    if (isConcurrent(state)) expireClockAt(state, events, due);
    else expireAt(state, events, due.atMs);
    cyclesAdvanced += 1;
  }
  return { state, events };
}

function dueChange(state: SessionState): DueChange | null {
  return nextDueChange(state, modeOf(state).clocks(state));
}

/** The participant a clock's event concerns: its own, or the turn holder for the session's one clock. */
function eventParticipantId(state: SessionState, clock: ModeClock): string | null {
  if (clock.participantId !== null || clock.groupId !== null) return clock.participantId;
  return state.activeParticipantId;
}

/** A crossing (a phase threshold, or zero in overtime): the clock's mark moves on; time is untouched. */
function announcePhase(state: SessionState, events: SessionEvent[], due: DueChange): void {
  const clocksBefore = clockSnapshot(state, due.atMs);
  due.clock.mark.phase = due.phase;
  recordChange(state, events, {
    type: due.kind === 'overtime' ? 'overtime' : 'phase_changed',
    atMs: due.atMs,
    participantId: eventParticipantId(state, due.clock),
    clocksBefore,
  });
}

/** concurrent: one clock ran out; the others go on, and the session ends with its last clock. */
function expireClockAt(state: SessionState, events: SessionEvent[], due: DueChange): void {
  const clocksBefore = clockSnapshot(state, due.atMs);
  chargeElapsed(state, due.atMs - (state.anchorAtMs ?? due.atMs));
  state.anchorAtMs = due.atMs;
  const bank = ownBanks(state).find((b) =>
    'participantId' in b ? b.participantId === due.clock.participantId : b.groupId === due.clock.groupId,
  );
  // The due clock came from this state's own clocks: not finding it would loop for ever.
  if (bank === undefined)
    throw new Error(`no clock ${due.clock.participantId ?? due.clock.groupId} to expire`);
  markClockExpired(state, bank);
  followClocks(state, due.atMs);
  recordChange(state, events, {
    type: state.status === 'expired' ? 'expired' : 'participant_expired',
    atMs: due.atMs,
    participantId: participantIdOf(bank),
    clocksBefore,
  });
}

function expireAt(state: SessionState, events: SessionEvent[], deadlineMs: number): void {
  const clocksBefore = clockSnapshot(state, deadlineMs);
  const participantId = state.activeParticipantId;
  // auto_advance in a cue list: the next cue starts at the deadline; after the last the run sheet is done.
  if (state.config.onExpire === 'auto_advance' && hasCues(state)) {
    const type = advanceCueAt(state, deadlineMs);
    recordChange(state, events, { type, atMs: deadlineMs, participantId, clocksBefore });
    return;
  }
  chargeElapsed(state, deadlineMs - (state.anchorAtMs ?? deadlineMs));
  const expiring = activeParticipant(state);
  if (hasCues(state)) finishCue(state, deadlineMs);

  // auto_advance (per_cycle): the next cycle starts at the deadline, not when it was noticed.
  if (state.config.onExpire === 'auto_advance' && expiring) {
    expiring.cycleCount += 1;
    // Alone in the session, a participant's cycles follow one another.
    beginTurn(state, nextParticipantInOrder(state) ?? expiring, deadlineMs);
    recordChange(state, events, { type: 'cycle_advanced', atMs: deadlineMs, participantId, clocksBefore });
    return;
  }

  modeOf(state).markOut(state);
  const next = state.config.onExpire === 'skip_participant' ? nextParticipantInOrder(state) : undefined;
  if (next) {
    beginTurn(state, next, deadlineMs);
    recordChange(state, events, {
      type: 'participant_expired',
      atMs: deadlineMs,
      participantId,
      clocksBefore,
    });
    return;
  }
  state.status = 'expired';
  state.anchorAtMs = null;
  recordChange(state, events, { type: 'expired', atMs: deadlineMs, participantId, clocksBefore });
}

/** A cue list's auto_advance: every cue due by `nowMs` ends at its own deadline, in one version. */
function skipCues(state: SessionState, events: SessionEvent[], nowMs: number): void {
  const firstDueMs = flagAtMs(state, modeOf(state).clocks(state));
  if (!hasCues(state) || firstDueMs === null) return;
  const clocksBefore = clockSnapshot(state, firstDueMs);
  const last = fastForwardCues(state, nowMs);
  if (last === null) return;
  recordChange(state, events, { type: last.type, atMs: last.atMs, participantId: null, clocksBefore });
}

/** Skips whole rounds of per_cycle auto_advance in one version, then the partial round. */
function fastForwardCycles(state: SessionState, events: SessionEvent[], nowMs: number): void {
  const cycleMs = state.config.timePerCycleMs ?? 0;
  const anchorAtMs = state.anchorAtMs;
  if (cycleMs <= 0 || anchorAtMs === null) return;
  // The current cycle is fresh here (it began at the anchor), so whole cycles follow one another.
  const dueCycles = Math.floor((nowMs - anchorAtMs) / cycleMs);
  const clocksBefore = clockSnapshot(state, anchorAtMs + dueCycles * cycleMs);
  const order = state.participants;
  const startIndex = order.findIndex((p) => p.participantId === state.activeParticipantId);
  order.forEach((p, index) => {
    // Cycles completed by each participant: those whose turn came up within dueCycles.
    const offset = (index - startIndex + order.length) % order.length;
    const turns = offset < dueCycles ? Math.floor((dueCycles - 1 - offset) / order.length) + 1 : 0;
    p.cycleCount += turns;
    p.usedMs += turns * cycleMs;
  });
  const next = order[(startIndex + dueCycles) % order.length];
  const atMs = anchorAtMs + dueCycles * cycleMs;
  if (next) beginTurn(state, next, atMs);
  recordChange(state, events, { type: 'cycle_advanced', atMs, participantId: null, clocksBefore });
}
