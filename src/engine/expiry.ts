// Flag fall. Every deadline that has passed by `nowMs` is applied at the deadline itself, in
// order, so the outcome depends on server time and never on when a request was processed.
import type { SessionEvent, SessionState } from '../types/session.js';
import { beginTurn, chargeElapsed, deadlineAtMs } from './clocks.js';
import { modeOf } from './modes/index.js';
import { activeParticipant, nextParticipantInOrder } from './participants.js';
import { recordChange, type Transition } from './transition.js';
import { clockSnapshot } from './view.js';

/**
 * Consecutive auto_advance cycles applied one version each before the rest are skipped in
 * one step, so a session left alone for a long time costs bounded work.
 */
const MAX_CYCLES_ONE_BY_ONE = 64;

export function applyDueExpiries(current: SessionState, nowMs: number): Transition {
  // The common case, nothing due: no copy (states are never changed in place once made).
  const first = deadlineAtMs(current);
  if (first === null || first > nowMs) return { state: current, events: [] };
  const state = structuredClone(current);
  const events: SessionEvent[] = [];
  let cyclesAdvanced = 0;
  for (
    let deadline = deadlineAtMs(state);
    deadline !== null && deadline <= nowMs;
    deadline = deadlineAtMs(state)
  ) {
    if (state.config.onExpire === 'auto_advance' && cyclesAdvanced >= MAX_CYCLES_ONE_BY_ONE) {
      fastForwardCycles(state, events, nowMs);
      break;
    }
    expireAt(state, events, deadline);
    cyclesAdvanced += 1;
  }
  return { state, events };
}

function expireAt(state: SessionState, events: SessionEvent[], deadlineMs: number): void {
  const clocksBefore = clockSnapshot(state, deadlineMs);
  chargeElapsed(state, deadlineMs - (state.anchorAtMs ?? deadlineMs));
  const expiring = activeParticipant(state);
  const participantId = expiring?.participantId ?? null;

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
