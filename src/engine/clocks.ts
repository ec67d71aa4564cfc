// The running clock, whatever the mode: when it runs out, and charging its pending time. The
// mode (./modes) says which bank that is; this module applies it the same way for every mode.
import { elapsedSinceMs } from '@synckairos/client/clock';
import type { ParticipantState, SessionState } from '../types/session.js';
import { chargeRunningClocks, isConcurrent } from './concurrent.js';
import { modeOf } from './modes/index.js';
import { activeParticipant, isRunning } from './participants.js';
import { flagAtMs, markPhases, nextDueChange } from './phases.js';

/**
 * When the running clock runs out (its true flag instant; concurrent: the first running
 * clock's), or null when nothing runs toward a limit or the clock counts on in overtime.
 */
export function deadlineAtMs(state: SessionState): number | null {
  return flagAtMs(state, modeOf(state).clocks(state));
}

/**
 * When the next change is due by time alone (a flag, a phase crossing, overtime): what the
 * deadline scheduler waits for.
 */
export function nextDueAtMs(state: SessionState): number | null {
  return nextDueChange(state, modeOf(state).clocks(state))?.atMs ?? null;
}

/** Sets each clock's announced phase to what its remaining time says at `atMs`. */
export function markPhasesAt(state: SessionState, atMs: number): void {
  markPhases(state, modeOf(state).clocks(state), atMs);
}

/** Moves `elapsedMs` of pending time from the running clock(s) into the stored banks. */
export function chargeElapsed(state: SessionState, elapsedMs: number): void {
  if (elapsedMs <= 0) return;
  if (isConcurrent(state)) {
    chargeRunningClocks(state, elapsedMs);
    return;
  }
  const active = activeParticipant(state);
  if (active) active.usedMs += elapsedMs;
  modeOf(state).charge(state, active, elapsedMs);
}

/** Charges everything pending up to `nowMs` and re-anchors the running clock there. */
export function settleRunningClock(state: SessionState, nowMs: number): void {
  if (!isRunning(state)) return;
  chargeElapsed(state, elapsedSinceMs(state.anchorAtMs, nowMs));
  state.anchorAtMs = Math.max(state.anchorAtMs ?? nowMs, nowMs);
}

/** Hands the turn to `next` at `atMs`: a new turn, with what the mode gives one. */
export function beginTurn(state: SessionState, next: ParticipantState, atMs: number): void {
  state.activeParticipantId = next.participantId;
  state.anchorAtMs = atMs;
  state.cycleStartedAtMs = atMs;
  modeOf(state).beginTurn(state);
  markPhasesAt(state, atMs);
}
