// Finding participants and groups in a state, and whose turn comes next.
import type { GroupState, ParticipantState, SessionState } from '../types/session.js';

export function findParticipant(
  state: SessionState,
  participantId: string | null,
): ParticipantState | undefined {
  return participantId === null
    ? undefined
    : state.participants.find((p) => p.participantId === participantId);
}

export function findGroup(state: SessionState, groupId: string | null): GroupState | undefined {
  return groupId === null ? undefined : state.groups.find((g) => g.groupId === groupId);
}

export function activeParticipant(state: SessionState): ParticipantState | undefined {
  return findParticipant(state, state.activeParticipantId);
}

export function activeGroup(state: SessionState): GroupState | undefined {
  return findGroup(state, activeParticipant(state)?.groupId ?? null);
}

export function isRunning(state: SessionState): boolean {
  return state.status === 'running' && state.anchorAtMs !== null;
}

/**
 * The participant after the active one in order, skipping those who are out; never the active
 * one itself: undefined when nobody else is left.
 */
export function nextParticipantInOrder(state: SessionState): ParticipantState | undefined {
  const count = state.participants.length;
  const start = state.participants.findIndex((p) => p.participantId === state.activeParticipantId);
  for (let step = 1; step < count; step++) {
    const candidate = state.participants[(start + step + count) % count];
    if (candidate && !candidate.hasExpired) return candidate;
  }
  return undefined;
}
