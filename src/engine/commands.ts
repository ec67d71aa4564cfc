// The session commands as pure functions of (state, command, now). Each returns a new state;
// a command that does not apply throws and changes nothing.
import { invalidState, validationError } from '../types/errors.js';
import {
  ENDED_STATUSES,
  type SessionCommand,
  type SessionEvent,
  type SessionState,
} from '../types/session.js';
import {
  activeGroup,
  activeParticipant,
  beginTurn,
  findGroup,
  findParticipant,
  nextParticipantInOrder,
  settleRunningClock,
} from './clocks.js';
import { recordChange, type Transition } from './transition.js';
import { clockSnapshot } from './view.js';

/** The longest a start may be scheduled ahead. */
export const MAX_START_DELAY_MS = 30 * 24 * 60 * 60 * 1000;

export function applyCommand(
  current: SessionState,
  command: SessionCommand,
  nowMs: number,
  actor: string | null = null,
): Transition {
  const state = structuredClone(current);
  const events: SessionEvent[] = [];
  const clocksBefore = clockSnapshot(current, nowMs);
  const record = (type: SessionEvent['type'], participantId = state.activeParticipantId) =>
    recordChange(state, events, { type, atMs: nowMs, participantId, actor, clocksBefore });

  switch (command.type) {
    case 'start':
      requireStatus(state, 'start', ['pending']);
      start(state, command.startAtMs, nowMs);
      record('started');
      break;
    case 'switch': {
      requireStatus(state, 'switch', ['running']);
      const from = state.activeParticipantId;
      passTurn(state, command.nextParticipantId, nowMs);
      record('switched', from);
      break;
    }
    case 'pause':
      requireStatus(state, 'pause', ['running']);
      settleRunningClock(state, nowMs);
      state.anchorAtMs = null;
      state.status = 'paused';
      record('paused');
      break;
    case 'resume':
      requireStatus(state, 'resume', ['paused']);
      state.anchorAtMs = nowMs;
      state.status = 'running';
      record('resumed');
      break;
    case 'complete':
      requireStatus(state, 'complete', ['pending', 'running', 'paused']);
      settleRunningClock(state, nowMs);
      state.anchorAtMs = null;
      state.status = 'completed';
      record('completed');
      break;
    case 'adjust': {
      requireStatus(state, 'adjust', ['pending', 'running', 'paused']);
      const target = adjust(state, command, nowMs);
      record('adjusted', target);
      break;
    }
    case 'cancel':
      // Cancel is how a session is deleted: a session still in play becomes cancelled; one
      // that already ended keeps its status, and the version records its removal.
      if (!ENDED_STATUSES.includes(state.status)) {
        settleRunningClock(state, nowMs);
        state.anchorAtMs = null;
        state.status = 'cancelled';
      }
      record('cancelled');
      break;
  }
  return { state, events };
}

function requireStatus(state: SessionState, action: string, allowed: SessionState['status'][]): void {
  if (allowed.includes(state.status)) return;
  const why = ENDED_STATUSES.includes(state.status)
    ? `the session is ${state.status}`
    : `it is ${state.status}`;
  throw invalidState(`Cannot ${action} the session: ${why}`, {
    status: state.status,
    version: state.version,
    allowed_statuses: allowed,
  });
}

function start(state: SessionState, startAtMs: number | undefined, nowMs: number): void {
  if (startAtMs !== undefined && startAtMs < nowMs) {
    throw validationError([{ path: 'start_at', message: `is in the past (server time is ${nowMs})` }]);
  }
  if (startAtMs !== undefined && startAtMs - nowMs > MAX_START_DELAY_MS) {
    throw validationError([{ path: 'start_at', message: 'is more than 30 days ahead' }]);
  }
  const anchorAtMs = startAtMs ?? nowMs;
  state.status = 'running';
  state.startAtMs = anchorAtMs;
  state.anchorAtMs = anchorAtMs;
  state.cycleStartedAtMs = anchorAtMs;
}

function passTurn(state: SessionState, requestedId: string | undefined, nowMs: number): void {
  if (state.anchorAtMs !== null && nowMs < state.anchorAtMs) {
    throw invalidState(`Cannot switch before the session starts at ${state.anchorAtMs}`, {
      start_at: state.anchorAtMs,
    });
  }
  const activeId = state.activeParticipantId;
  const next =
    requestedId === undefined ? nextParticipantInOrder(state) : findParticipant(state, requestedId);
  if (requestedId !== undefined && !next) {
    throw validationError([
      { path: 'next_participant_id', message: `'${requestedId}' is not a participant of this session` },
    ]);
  }
  // A turn handed back to its holder would only refill or credit its clock (a fresh cycle, an
  // increment) for nothing: a switch always passes the turn to someone else.
  if (!next) {
    throw invalidState(`Cannot switch: nobody but '${activeId}' is left to take the turn`, {
      active_participant_id: activeId,
    });
  }
  if (next.participantId === activeId) {
    throw invalidState(`Cannot switch to '${activeId}': it already has the turn`, {
      active_participant_id: activeId,
      next_participant_id: next.participantId,
    });
  }
  if (next.hasExpired) {
    throw invalidState(`Participant '${next.participantId}' has run out of time and is out`, {
      participant_id: next.participantId,
    });
  }
  settleRunningClock(state, nowMs);
  const finishing = activeParticipant(state);
  if (finishing) {
    finishing.cycleCount += 1;
    addIncrement(state);
  }
  if (state.syncMode === 'count_up' && finishing) {
    state.laps.push({
      participantId: finishing.participantId,
      lapMs: state.elapsedMs - state.lapStartElapsedMs,
      elapsedMs: state.elapsedMs,
    });
    state.lapStartElapsedMs = state.elapsedMs;
  }
  beginTurn(state, next, nowMs);
}

/** Fischer increment: the bank that just ran gets increment_ms after the move. */
function addIncrement(state: SessionState): void {
  const incrementMs = state.config.incrementMs;
  if (incrementMs === 0) return;
  if (state.syncMode === 'per_participant') {
    const active = activeParticipant(state);
    if (active) active.bankMs += incrementMs;
  } else if (state.syncMode === 'per_group') {
    const group = activeGroup(state);
    if (group) group.bankMs += incrementMs;
  }
}

/** Applies an arbiter's delta to the bank it names; returns the participant concerned. */
function adjust(state: SessionState, command: Extract<SessionCommand, { type: 'adjust' }>, nowMs: number) {
  settleRunningClock(state, nowMs);
  const participant =
    command.participantId === undefined ? undefined : findParticipant(state, command.participantId);
  if (command.participantId !== undefined && !participant) {
    throw validationError([
      { path: 'participant_id', message: `'${command.participantId}' is not a participant of this session` },
    ]);
  }
  if (participant?.hasExpired) {
    throw invalidState(`Participant '${participant.participantId}' has run out of time and is out`, {
      participant_id: participant.participantId,
    });
  }
  const bank = adjustableBank(state, command, participant?.participantId ?? null);
  const afterMs = bank.get() + command.deltaMs;
  if (afterMs < 0 || afterMs > bank.limitMs) {
    throw validationError([
      {
        path: 'delta_ms',
        message: `would take ${bank.name} to ${afterMs} ms (allowed: ${-bank.get()} to ${bank.limitMs - bank.get()} as of server time ${nowMs})`,
      },
    ]);
  }
  bank.set(afterMs);
  return participant?.participantId ?? state.activeParticipantId;
}

interface AdjustableBank {
  name: string;
  get(): number;
  set(valueMs: number): void;
  limitMs: number;
}

function adjustableBank(
  state: SessionState,
  command: Extract<SessionCommand, { type: 'adjust' }>,
  participantId: string | null,
): AdjustableBank {
  const unlimited = Number.MAX_SAFE_INTEGER;
  switch (state.syncMode) {
    case 'per_participant': {
      const p = findParticipant(state, participantId);
      if (!p)
        throw validationError([
          { path: 'participant_id', message: "required in sync_mode 'per_participant'" },
        ]);
      return {
        name: `${p.participantId}'s bank`,
        get: () => p.bankMs,
        set: (v) => (p.bankMs = v),
        limitMs: unlimited,
      };
    }
    case 'per_group': {
      const groupId = command.groupId ?? findParticipant(state, participantId)?.groupId ?? null;
      const g = findGroup(state, groupId);
      if (!g) {
        const message =
          command.groupId === undefined ? 'participant_id or group_id is required' : 'unknown group';
        throw validationError([{ path: 'group_id', message }]);
      }
      if (g.hasExpired) throw invalidState(`Group '${g.groupId}' has run out of time and is out`);
      return {
        name: `group ${g.groupId}'s bank`,
        get: () => g.bankMs,
        set: (v) => (g.bankMs = v),
        limitMs: unlimited,
      };
    }
    case 'per_cycle':
      if (participantId !== null && participantId !== state.activeParticipantId) {
        throw invalidState('In per_cycle only the current cycle can be adjusted', {
          active_participant_id: state.activeParticipantId,
        });
      }
      return {
        name: 'the current cycle',
        get: () => state.cycleBankMs,
        set: (v) => (state.cycleBankMs = v),
        limitMs: unlimited,
      };
    case 'global':
      return {
        name: 'the session bank',
        get: () => state.sessionBankMs,
        set: (v) => (state.sessionBankMs = v),
        limitMs: unlimited,
      };
    case 'count_up':
      return {
        name: 'the elapsed time',
        get: () => state.elapsedMs,
        set: (v) => {
          state.elapsedMs = v;
          state.lapStartElapsedMs = Math.min(state.lapStartElapsedMs, v);
        },
        limitMs: state.config.maxTimeMs ?? unlimited,
      };
  }
}
