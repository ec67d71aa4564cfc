// What each role may do. A principal's session_id claim limits it to that session; a
// participant may only switch, only on its own turn (checked on the state the engine is about
// to change, so the turn cannot move between the check and the write), and only to whoever
// comes next in order: choosing who moves next is an arbiter's (admin's) call.
import type { SessionCommand, SessionCommandType, SessionState } from '../types/session.js';
import { forbidden, type Principal } from './tokens.js';

/** `list`: every session (GET /v1/sessions), an admin's whose token is not bound to a session. */
export type Action = 'create' | 'read' | 'delete' | 'list' | SessionCommandType;

/**
 * Refuses what the role or the token's session never allows, before any state is read. A token
 * bound to a session never acts without naming it (`sessionId` null: creating or listing).
 */
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

/**
 * The checks a command's own fields and the session's state call for, after `checkAction`:
 * refuses at once what the fields never allow this principal, and returns the guard the
 * engine runs on the state it is about to change. Every transport gets its guard here, so
 * none can pass a command without these checks.
 */
export function commandGuard(
  principal: Principal,
  command: SessionCommand,
): ((state: SessionState) => void) | undefined {
  if (principal.role !== 'participant') return undefined;
  if (command.type === 'switch' && command.nextParticipantId !== undefined) {
    throw forbidden('A participant passes the turn in order; only an admin may choose next_participant_id', {
      role: principal.role,
      next_participant_id: command.nextParticipantId,
    });
  }
  if (command.type === 'switch' && command.nextCycleIndex !== undefined) {
    throw forbidden('A participant ends its cue; only an admin may choose next_cycle_index', {
      role: principal.role,
      next_cycle_index: command.nextCycleIndex,
    });
  }
  return (state) => {
    if (state.activeParticipantId !== principal.subject) {
      throw forbidden(`It is not ${principal.subject}'s turn`, {
        participant_id: principal.subject,
        active_participant_id: state.activeParticipantId,
      });
    }
  };
}

/**
 * Webhook endpoints see every session (or one, as a filter): managing them is an admin's whose
 * token is not bound to a session, so a per-session admin cannot watch the others.
 */
export function checkWebhookAdmin(principal: Principal): void {
  if (principal.role !== 'admin') {
    throw forbidden(`The ${principal.role} role may not manage webhooks`, { role: principal.role });
  }
  if (principal.sessionId !== null) {
    throw forbidden(
      `This token is for session '${principal.sessionId}' only; webhooks need an unbound admin token`,
      {
        token_session_id: principal.sessionId,
      },
    );
  }
}

/**
 * Push devices of a session: an admin registers any; a participant of that session registers
 * its own phone (participant_id must be its own) and may remove a device whose token it holds
 * (the FCM token is the device's secret). A viewer does neither.
 */
export function checkDeviceAction(
  principal: Principal,
  sessionId: string,
  action: 'register' | 'unregister',
  participantId?: string | null,
): void {
  checkAction(principal, 'read', sessionId);
  if (principal.role === 'admin') return;
  if (principal.role === 'participant') {
    if (action === 'unregister' || participantId === principal.subject) return;
    throw forbidden(
      `A participant registers devices for its own participant_id ('${principal.subject}') only`,
      {
        role: principal.role,
        participant_id: participantId ?? null,
      },
    );
  }
  throw forbidden(`The ${principal.role} role may not ${action} push devices`, {
    role: principal.role,
    action,
  });
}
