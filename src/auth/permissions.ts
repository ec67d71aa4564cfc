// What each role may do. A principal's session_id claim limits it to that session; a
// participant may only switch, and only on its own turn (checked on the state the engine
// is about to change, so the turn cannot move between the check and the write).
import type { SessionCommandType, SessionState } from '../types/session.js';
import { forbidden, type Principal } from './tokens.js';

export type Action = 'create' | 'read' | 'delete' | SessionCommandType;

/** Refuses what the role or the token's session never allows, before any state is read. */
export function checkAction(principal: Principal, action: Action, sessionId: string | null): void {
  if (principal.sessionId !== null && sessionId !== principal.sessionId) {
    throw forbidden(
      sessionId === null
        ? `This token is for session '${principal.sessionId}' only`
        : `This token is for session '${principal.sessionId}', not '${sessionId}'`,
      { token_session_id: principal.sessionId },
    );
  }
  if (principal.role === 'admin') return;
  if (action === 'read') return;
  if (principal.role === 'participant' && action === 'switch') return;
  throw forbidden(`The ${principal.role} role may not ${action} sessions`, {
    role: principal.role,
    action,
  });
}

/** For a participant's switch: a guard the engine runs on the state it is about to change. */
export function turnGuard(principal: Principal): ((state: SessionState) => void) | undefined {
  if (principal.role !== 'participant') return undefined;
  return (state) => {
    if (state.activeParticipantId !== principal.subject) {
      throw forbidden(`It is not ${principal.subject}'s turn`, {
        participant_id: principal.subject,
        active_participant_id: state.activeParticipantId,
      });
    }
  };
}
