// Which bank runs in each mode, and what charging elapsed time to it means. Every other
// engine module goes through these, so a mode's rules live here once.
import type { GroupState, ParticipantState, SessionState } from '../types/session.js';
import { elapsedSinceMs } from './time.js';

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
 * How much the running clock can still take before it runs out, as of the anchor: the
 * count-down bank, or what is left to max_time_ms in count_up (null: no limit).
 */
export function runningBankMs(state: SessionState): number | null {
  switch (state.syncMode) {
    case 'per_participant':
      return activeParticipant(state)?.bankMs ?? 0;
    case 'per_group':
      return activeGroup(state)?.bankMs ?? 0;
    case 'per_cycle':
      return state.cycleBankMs;
    case 'global':
      return state.sessionBankMs;
    case 'count_up':
      return state.config.maxTimeMs === null ? null : state.config.maxTimeMs - state.elapsedMs;
  }
}

/** When the running clock runs out, or null when nothing runs toward a limit. */
export function deadlineAtMs(state: SessionState): number | null {
  if (!isRunning(state) || state.anchorAtMs === null) return null;
  const bankMs = runningBankMs(state);
  return bankMs === null ? null : state.anchorAtMs + bankMs;
}

/** Moves `elapsedMs` of pending time from the running clock into the stored banks. */
export function chargeElapsed(state: SessionState, elapsedMs: number): void {
  if (elapsedMs <= 0) return;
  const active = activeParticipant(state);
  if (active) active.usedMs += elapsedMs;
  switch (state.syncMode) {
    case 'per_participant':
      if (active) active.bankMs -= elapsedMs;
      break;
    case 'per_group': {
      const group = activeGroup(state);
      if (group) {
        group.bankMs -= elapsedMs;
        group.usedMs += elapsedMs;
      }
      break;
    }
    case 'per_cycle':
      state.cycleBankMs -= elapsedMs;
      break;
    case 'global':
      state.sessionBankMs -= elapsedMs;
      break;
    case 'count_up':
      state.elapsedMs += elapsedMs;
      break;
  }
}

/** Charges everything pending up to `nowMs` and re-anchors the running clock there. */
export function settleRunningClock(state: SessionState, nowMs: number): void {
  if (!isRunning(state)) return;
  chargeElapsed(state, elapsedSinceMs(state.anchorAtMs, nowMs));
  state.anchorAtMs = Math.max(state.anchorAtMs ?? nowMs, nowMs);
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

/** Hands the turn to `next` at `atMs`: a fresh cycle in per_cycle, a new turn everywhere. */
export function beginTurn(state: SessionState, next: ParticipantState, atMs: number): void {
  state.activeParticipantId = next.participantId;
  state.anchorAtMs = atMs;
  state.cycleStartedAtMs = atMs;
  if (state.syncMode === 'per_cycle') state.cycleBankMs = state.config.timePerCycleMs ?? 0;
}
