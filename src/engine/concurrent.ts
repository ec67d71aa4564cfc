// concurrent sessions (per_participant, per_group): after start every participant's (group's)
// clock runs at once, each with its own status; pause, resume, complete and adjust act on one
// clock when given its id, on every clock otherwise. All running clocks share the session's
// anchor, so settling one settles them all, and no clock's pause moves another's time.
import { invalidState, validationError } from '../types/errors.js';
import type { ClockStatus, GroupState, OneClock, ParticipantState, SessionState } from '../types/session.js';
import { chargeBank } from './modes/banks.js';
import { findGroup, findParticipant } from './participants.js';

/** A clock of its own: a participant's (per_participant) or a group's (per_group). */
export type OwnBank = ParticipantState | GroupState;

export function isConcurrent(state: SessionState): boolean {
  return state.config.concurrent === true;
}

/** The clocks that run on their own: the groups where the session has them, else the participants. */
export function ownBanks(state: SessionState): OwnBank[] {
  return state.groups.length > 0 ? state.groups : state.participants;
}

/** Ran out or completed: nothing moves it again. */
export function isOut(bank: OwnBank): boolean {
  return bank.hasExpired || bank.clockStatus === 'completed';
}

/** Whether `bank`'s time moves while the session runs: its own status, or whether it has the turn. */
export function bankRuns(state: SessionState, bank: OwnBank, hasTurn: boolean): boolean {
  return isConcurrent(state) ? bank.clockStatus === 'running' : hasTurn;
}

/** Every clock's status before start: pending; nobody has a turn. */
export function initializeConcurrent(state: SessionState): void {
  state.config.concurrent = true;
  state.activeParticipantId = null;
  for (const bank of ownBanks(state)) bank.clockStatus = 'pending';
}

export function startAll(state: SessionState): void {
  for (const bank of ownBanks(state)) if (bank.clockStatus === 'pending') bank.clockStatus = 'running';
}

/** Charges `elapsedMs` to every running clock (and, per_group, to its members' used time). */
export function chargeRunningClocks(state: SessionState, elapsedMs: number): void {
  const banks = ownBanks(state);
  for (const bank of banks) {
    if (bank.clockStatus !== 'running') continue;
    chargeBank(state, bank, banks, elapsedMs);
    bank.usedMs += elapsedMs;
    if (!('participantId' in bank)) {
      for (const p of state.participants) if (p.groupId === bank.groupId) p.usedMs += elapsedMs;
    }
  }
}

/** The one clock a command names, or undefined for the whole session; unknown ids are refused. */
export function targetClock(state: SessionState, command: OneClock): OwnBank | undefined {
  if (command.participantId === undefined && command.groupId === undefined) return undefined;
  if (command.groupId !== undefined) {
    const group = findGroup(state, command.groupId);
    if (group === undefined || state.groups.length === 0) {
      throw validationError([
        { path: 'group_id', message: `'${command.groupId}' is not a group of this session` },
      ]);
    }
    return group;
  }
  const participant = findParticipant(state, command.participantId ?? null);
  if (participant === undefined) {
    throw validationError([
      { path: 'participant_id', message: `'${command.participantId}' is not a participant of this session` },
    ]);
  }
  return findGroup(state, participant.groupId) ?? participant;
}

/** Refuses a one-clock command on a session whose clocks do not run on their own. */
export function refuseOneClock(state: SessionState, action: string, command: OneClock): void {
  if (isConcurrent(state)) return;
  const path = command.groupId !== undefined ? 'group_id' : 'participant_id';
  if (command.participantId === undefined && command.groupId === undefined) return;
  throw validationError([
    {
      path,
      message: `only a concurrent session can ${action} one clock; this one has a single running clock`,
    },
  ]);
}

/** Moves the named clock (or every clock in `from`) to `to`; refuses when none is in `from`. */
export function moveClocks(
  state: SessionState,
  target: OwnBank | undefined,
  from: readonly ClockStatus[],
  to: ClockStatus,
  action: string,
): void {
  const banks =
    target === undefined ? ownBanks(state).filter((b) => from.includes(clockStatusOf(b))) : [target];
  if (target !== undefined && !from.includes(clockStatusOf(target))) {
    throw invalidState(`Cannot ${action} ${nameOf(target)}: its clock is ${clockStatusOf(target)}`, {
      ...idOf(target),
      clock_status: clockStatusOf(target),
      allowed_clock_statuses: from,
    });
  }
  if (banks.length === 0) {
    throw invalidState(`Cannot ${action} the session: no clock is ${from.join(' or ')}`, {
      allowed_clock_statuses: from,
    });
  }
  for (const bank of banks) bank.clockStatus = to;
}

/** A clock ran out at `atMs` (the session's clocks are settled to then). */
export function markClockExpired(state: SessionState, bank: OwnBank): void {
  bank.clockStatus = 'expired';
  bank.hasExpired = true;
  if (!('participantId' in bank)) {
    for (const p of state.participants) if (p.groupId === bank.groupId) p.hasExpired = true;
  }
}

/**
 * The session's status follows its clocks: running while one runs, paused while one waits to
 * resume, and over when none is left (expired if every clock ran out, else completed).
 */
export function followClocks(state: SessionState, nowMs: number): void {
  const statuses = ownBanks(state).map(clockStatusOf);
  if (statuses.includes('running')) {
    state.status = 'running';
    state.anchorAtMs ??= nowMs;
  } else {
    state.anchorAtMs = null;
    if (statuses.includes('paused')) state.status = 'paused';
    // Before start, a clock completed (an absentee) leaves the others pending.
    else if (statuses.includes('pending')) state.status = 'pending';
    else state.status = statuses.every((s) => s === 'expired') ? 'expired' : 'completed';
  }
}

export function clockStatusOf(bank: OwnBank): ClockStatus {
  return bank.clockStatus ?? 'pending';
}

/** The participant a clock is, for the event; null for a group's. */
export function participantIdOf(bank: OwnBank): string | null {
  return 'participantId' in bank ? bank.participantId : null;
}

function idOf(bank: OwnBank): Record<string, string> {
  return 'participantId' in bank ? { participant_id: bank.participantId } : { group_id: bank.groupId };
}

function nameOf(bank: OwnBank): string {
  return 'participantId' in bank ? `participant '${bank.participantId}'` : `group '${bank.groupId}'`;
}
