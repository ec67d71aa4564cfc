// Every session has a bounded life: one nobody has acted on (created it, sent a command) for
// the maximum idle time ends with `idle_expired` and is removed, paused and unlimited ones
// included. The idle deadline goes into the store's deadline index beside the clock's, so the
// deadline scheduler applies it exactly once, as it applies flag falls.
import type { SessionState } from '../types/session.js';
import { ENDED_STATUSES } from '../types/session.js';
import { chargeElapsed, nextDueAtMs } from './clocks.js';
import { isRunning } from './participants.js';
import { recordChange, type Transition } from './transition.js';
import { clockSnapshot } from './view.js';

export const DEFAULT_MAX_IDLE_MS = 7 * 24 * 60 * 60 * 1000;

/** When the session has been idle for `maxIdleMs`; null once it has ended. */
export function idleDeadlineAtMs(state: SessionState, maxIdleMs: number): number | null {
  if (ENDED_STATUSES.includes(state.status)) return null;
  return (state.lastCommandAtMs ?? state.updatedAtMs) + maxIdleMs;
}

/**
 * What the store's deadline index holds: the clock's next due change (a flag, a phase crossing,
 * overtime) or the idle deadline, whichever comes first.
 */
export function nextDeadlineAtMs(state: SessionState, maxIdleMs: number): number | null {
  const clock = nextDueAtMs(state);
  const idle = idleDeadlineAtMs(state, maxIdleMs);
  if (clock === null) return idle;
  return idle === null ? clock : Math.min(clock, idle);
}

/** Records that a client acted on the state at `nowMs` (its idle time starts again). */
export function markActive(state: SessionState, nowMs: number): void {
  state.lastCommandAtMs = nowMs;
}

/**
 * The session ended at its idle deadline, if that has passed by `nowMs` (apply the clock's due
 * expiries first): status `expired`, event `idle_expired` stamped at the deadline, a running
 * clock charged up to it. Null when the session is not idle for that long.
 */
export function applyIdleExpiry(current: SessionState, nowMs: number, maxIdleMs: number): Transition | null {
  const atMs = idleDeadlineAtMs(current, maxIdleMs);
  if (atMs === null || atMs > nowMs) return null;
  const state = structuredClone(current);
  const events: Transition['events'] = [];
  const clocksBefore = clockSnapshot(state, atMs);
  if (isRunning(state)) chargeElapsed(state, atMs - (state.anchorAtMs ?? atMs));
  state.status = 'expired';
  state.anchorAtMs = null;
  recordChange(state, events, { type: 'idle_expired', atMs, participantId: null, clocksBefore });
  return { state, events };
}
