// The session commands as pure functions of (state, command, now). Each returns a new state;
// a command that does not apply throws and changes nothing.
import { invalidState, validationError } from '../types/errors.js';
import {
  ENDED_STATUSES,
  type ParticipantState,
  type SessionCommand,
  type SessionEvent,
  type SessionState,
} from '../types/session.js';
import { elapsedSinceMs } from '@synckairos/client/clock';
import { beginTurn, chargeElapsed, markPhasesAt, settleRunningClock } from './clocks.js';
import {
  followClocks,
  isConcurrent,
  isOut,
  moveClocks,
  ownBanks,
  participantIdOf,
  refuseOneClock,
  startAll,
  targetClock,
} from './concurrent.js';
import { finishCue, hasCues, switchCue } from './cues.js';
import { resetSessionState } from './createSession.js';
import { compensatedMoveMs } from './lag.js';
import { modeOf } from './modes/index.js';
import type { AdjustCommand } from './modes/mode.js';
import { activeParticipant, findParticipant, nextParticipantInOrder } from './participants.js';
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
  if (command.type === 'reset') return reset(current, nowMs, actor);
  const state = structuredClone(current);
  const events: SessionEvent[] = [];
  const clocksBefore = clockSnapshot(current, nowMs);
  const systemPause = command.type === 'pause' ? command.systemPause : undefined;
  const record = (type: SessionEvent['type'], participantId = state.activeParticipantId) =>
    recordChange(state, events, { type, atMs: nowMs, participantId, actor, clocksBefore, systemPause });

  if (isConcurrent(state) && command.type !== 'start' && command.type !== 'cancel') {
    const change = applyToClocks(state, command, nowMs);
    record(change.type, change.participantId);
    markPhasesAt(state, nowMs);
    return { state, events };
  }
  switch (command.type) {
    case 'start':
      requireStatus(state, 'start', ['pending']);
      start(state, command.startAtMs, nowMs);
      record('started');
      break;
    case 'switch': {
      requireStatus(state, 'switch', ['running']);
      const from = state.activeParticipantId;
      record(passTurn(state, command, nowMs), from);
      break;
    }
    case 'pause':
      refuseOneClock(state, 'pause', command);
      requireStatus(state, 'pause', ['running']);
      settleRunningClock(state, nowMs);
      state.anchorAtMs = null;
      state.status = 'paused';
      record('paused');
      break;
    case 'resume':
      refuseOneClock(state, 'resume', command);
      requireStatus(state, 'resume', ['paused']);
      state.anchorAtMs = nowMs;
      state.status = 'running';
      record('resumed');
      break;
    case 'complete':
      refuseOneClock(state, 'complete', command);
      requireStatus(state, 'complete', ['pending', 'running', 'paused']);
      settleRunningClock(state, nowMs);
      if (hasCues(state) && state.status !== 'pending') finishCue(state, nowMs);
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
  markPhasesAt(state, nowMs);
  return { state, events };
}

/**
 * A concurrent session's switch, pause, resume, complete or adjust: on the clock the command
 * names, or on every clock. The session's status then follows its clocks.
 */
function applyToClocks(
  state: SessionState,
  command: Exclude<SessionCommand, { type: 'start' | 'cancel' | 'reset' }>,
  nowMs: number,
): { type: SessionEvent['type']; participantId: string | null } {
  if (command.type === 'switch') {
    throw invalidState(
      'Cannot switch a concurrent session: every clock runs on its own; pause or complete one instead',
      {
        concurrent: true,
      },
    );
  }
  const pendingToo = command.type === 'complete' || command.type === 'adjust';
  requireStatus(state, command.type, pendingToo ? ['pending', 'running', 'paused'] : ['running', 'paused']);
  const target = targetClock(state, command);
  settleRunningClock(state, nowMs);
  switch (command.type) {
    case 'pause':
      moveClocks(state, target, ['running'], 'paused', 'pause');
      break;
    case 'resume':
      moveClocks(state, target, ['paused'], 'running', 'resume');
      break;
    case 'complete':
      moveClocks(state, target, ['pending', 'running', 'paused'], 'completed', 'complete');
      break;
    case 'adjust':
      adjustClocks(state, command, target, nowMs);
      break;
  }
  followClocks(state, nowMs);
  return {
    type: eventOf(command.type),
    participantId: target === undefined ? null : participantIdOf(target),
  };
}

function eventOf(type: 'pause' | 'resume' | 'complete' | 'adjust'): SessionEvent['type'] {
  return ({ pause: 'paused', resume: 'resumed', complete: 'completed', adjust: 'adjusted' } as const)[type];
}

/** One clock's adjust as in any session; without an id, the same delta to every clock still in play. */
function adjustClocks(
  state: SessionState,
  command: AdjustCommand,
  target: ReturnType<typeof targetClock>,
  nowMs: number,
): void {
  if (target !== undefined && target.clockStatus === 'completed') {
    throw invalidState('Cannot adjust a completed clock', { clock_status: 'completed' });
  }
  if (target !== undefined) {
    adjust(state, command, nowMs);
    return;
  }
  for (const bank of ownBanks(state)) {
    if (isOut(bank)) continue;
    const perClock: AdjustCommand =
      'participantId' in bank
        ? { type: 'adjust', participantId: bank.participantId, deltaMs: command.deltaMs }
        : { type: 'adjust', groupId: bank.groupId, deltaMs: command.deltaMs };
    adjust(state, perClock, nowMs);
  }
}

/**
 * Every status a stored session can have: a pending one too, which undoes the adjusts made
 * before its start (a new version all the same, as every accepted command makes).
 */
const RESETTABLE_STATUSES: SessionState['status'][] = [
  'pending',
  'running',
  'paused',
  'expired',
  'completed',
];

/** Back to pending with the first clocks, as the session was created; the version goes on. */
function reset(current: SessionState, nowMs: number, actor: string | null): Transition {
  requireStatus(current, 'reset', RESETTABLE_STATUSES);
  const state = resetSessionState(structuredClone(current));
  const events: SessionEvent[] = [];
  recordChange(state, events, {
    type: 'reset',
    atMs: nowMs,
    participantId: null,
    actor,
    clocksBefore: clockSnapshot(current, nowMs),
  });
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
  if (isConcurrent(state)) startAll(state);
}

type SwitchCommand = Extract<SessionCommand, { type: 'switch' }>;

/** Ends the turn (a cue list: the cue); returns the event it makes. */
function passTurn(state: SessionState, command: SwitchCommand, nowMs: number): SessionEvent['type'] {
  if (state.anchorAtMs !== null && nowMs < state.anchorAtMs) {
    throw invalidState(`Cannot switch before the session starts at ${state.anchorAtMs}`, {
      start_at: state.anchorAtMs,
    });
  }
  if (hasCues(state)) return switchCue(state, command, nowMs);
  if (command.nextCycleIndex !== undefined) {
    throw validationError([
      { path: 'next_cycle_index', message: 'this session has no cue list (per_cycle with cycles)' },
    ]);
  }
  const next = nextTurn(state, command.nextParticipantId);
  chargeElapsed(state, chargedMoveMs(state, command, nowMs));
  const finishing = activeParticipant(state);
  if (finishing) {
    finishing.cycleCount += 1;
    modeOf(state).endTurn(state, finishing);
  }
  beginTurn(state, next, nowMs);
  return 'switched';
}

/** Whose turn a switch gives: the one asked for, or the next in order (those who are out are skipped). */
function nextTurn(state: SessionState, requestedId: string | undefined): ParticipantState {
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
    const active = activeParticipant(state);
    // A lone stopwatch's switch is a split: it records a lap and credits nothing.
    if (requestedId === undefined && active && modeOf(state).switchesInPlaceWhenAlone) return active;
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
  return next;
}

/**
 * The time a move is charged to the clock that ran: everything since the anchor, less the
 * move's time in transit where the session compensates lag.
 */
function chargedMoveMs(state: SessionState, command: SwitchCommand, nowMs: number): number {
  const elapsedMs = elapsedSinceMs(state.anchorAtMs, nowMs);
  return compensatedMoveMs(state, activeParticipant(state), command.transit, elapsedMs);
}

/** Applies an arbiter's delta to the bank it names; returns the participant concerned. */
function adjust(state: SessionState, command: AdjustCommand, nowMs: number) {
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
  const bank = modeOf(state).adjustableBank(state, command, participant);
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
