// The disconnect policy (on_disconnect) as pure functions of the state: what a participant whose
// connections have been gone past the grace means for the session now, and the server's pause.
import type { SessionCommand, SessionState } from '../types/session.js';
import { clockStatusOf, isConcurrent } from './concurrent.js';
import { findGroup, findParticipant } from './participants.js';

/** The actor the audit trail names for what the server does by itself. */
export const SERVER_ACTOR = 'server';

/**
 * `pause`: the participant's clock runs (concurrent: its own; otherwise it holds the turn of a
 * running session). `wait`: it may run later while the participant is still gone (another holds
 * the turn, or the session has not started). `drop`: nothing of it will run again without
 * someone acting (paused, ended, no policy, not a participant).
 */
export type DisconnectOutcome = 'pause' | 'wait' | 'drop';

export function disconnectOutcome(state: SessionState, participantId: string): DisconnectOutcome {
  if (state.config.onDisconnect === undefined) return 'drop';
  const participant = findParticipant(state, participantId);
  if (participant === undefined || participant.hasExpired) return 'drop';
  if (state.status === 'pending') return 'wait';
  if (state.status !== 'running') return 'drop';
  if (isConcurrent(state)) {
    const clock = clockStatusOf(findGroup(state, participant.groupId) ?? participant);
    return clock === 'running' ? 'pause' : clock === 'pending' ? 'wait' : 'drop';
  }
  return state.activeParticipantId === participantId ? 'pause' : 'wait';
}

/** The server's pause of a gone participant's clock (concurrent: that clock alone). */
export function disconnectPause(state: SessionState, participantId: string): SessionCommand {
  const systemPause = { reason: 'disconnected', participantId } as const;
  return isConcurrent(state) ? { type: 'pause', participantId, systemPause } : { type: 'pause', systemPause };
}
