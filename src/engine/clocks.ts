// The running clock, whatever the mode: when it runs out, and charging its pending time. The
// mode (./modes) says which bank that is; this module applies it the same way for every mode.
import { elapsedSinceMs } from '@synckairos/client/clock';
import type { ParticipantState, SessionState } from '../types/session.js';
import { modeOf } from './modes/index.js';
import { activeParticipant, isRunning } from './participants.js';

/** When the running clock runs out (its true flag instant), or null when nothing runs toward a limit. */
export function deadlineAtMs(state: SessionState): number | null {
  if (!isRunning(state) || state.anchorAtMs === null) return null;
  const flagInMs = modeOf(state).flagInMs(state);
  return flagInMs === null ? null : state.anchorAtMs + flagInMs;
}

/** Moves `elapsedMs` of pending time from the running clock into the stored banks. */
export function chargeElapsed(state: SessionState, elapsedMs: number): void {
  if (elapsedMs <= 0) return;
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
}
