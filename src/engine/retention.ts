// How long the state store keeps a session after a write: the idle TTL once nothing can
// happen, but never less than a running clock could still need.
import type { SessionState } from '../types/session.js';
import { deadlineAtMs } from './clocks.js';

/** Returns the TTL for this write, or null to keep the session while it is in play. */
export function retentionMs(state: SessionState, nowMs: number, idleTtlMs: number): number | null {
  switch (state.status) {
    case 'pending':
      // Kept until started or idle for the maximum idle time (engine/idle.ts), which ends it
      // with a recorded event: a live session never vanishes unrecorded.
      return null;
    case 'expired':
    case 'completed':
    case 'cancelled':
      return idleTtlMs;
    case 'paused':
      // A paused game may resume at any time, until the maximum idle time ends it (engine/idle.ts).
      return null;
    case 'running': {
      const deadline = deadlineAtMs(state);
      return deadline === null ? null : Math.max(0, deadline - nowMs) + idleTtlMs;
    }
  }
}
