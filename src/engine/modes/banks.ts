// What the two bank modes share: a bank per participant (per_participant) or per group
// (per_group), each run by its time control (src/clock/controls): its own, else the session's,
// else the total_time_ms + increment_ms shorthand.
import { ruleOf, writeFace, type ClockFace } from '@synckairos/client/clock';
import type { ValidationIssue } from '../../types/errors.js';
import type { CreateSessionInput, GroupState, ParticipantState, SessionState } from '../../types/session.js';
import type { TimeControl } from '../../types/timeControl.js';

export type Bank = ParticipantState | GroupState;

export function controlOf(state: SessionState, bank: Bank): TimeControl | undefined {
  return bank.timeControl ?? state.config.timeControl;
}

export function bankFlagInMs(state: SessionState, bank: Bank | undefined): number {
  if (bank === undefined) return 0;
  const control = controlOf(state, bank);
  return ruleOf(control).flagInMs(bank, control);
}

/** Runs the bank; under hourglass the other banks still in play gain what it spent. */
export function chargeBank(
  state: SessionState,
  bank: Bank | undefined,
  all: readonly Bank[],
  elapsedMs: number,
): void {
  if (bank === undefined) return;
  const control = controlOf(state, bank);
  const rule = ruleOf(control);
  rule.run(bank, control, elapsedMs);
  if (!rule.waitingGains) return;
  for (const other of all) if (other !== bank && !other.hasExpired) other.bankMs += elapsedMs;
}

export function endBankTurn(state: SessionState, bank: Bank | undefined): void {
  if (bank === undefined) return;
  const control = controlOf(state, bank);
  ruleOf(control).endTurn(bank, control, state.config.incrementMs);
}

/** The face of `bank` with `pendingMs` on the running bank (a waiting hourglass bank gains it). */
export function writeBankFace(
  state: SessionState,
  bank: Bank,
  running: Bank | undefined,
  pendingMs: number,
  out: ClockFace,
): void {
  const control = controlOf(state, bank);
  if (bank === running || pendingMs === 0 || running === undefined) {
    writeFace(out, bank, control, bank === running ? pendingMs : 0, 0, state.config.onExpire === 'overtime');
    return;
  }
  const gainsMs =
    ruleOf(control).waitingGains && !bank.hasExpired
      ? Math.min(pendingMs, Math.max(0, bankFlagInMs(state, running)))
      : 0;
  writeFace(out, bank, control, 0, gainsMs);
}

/** What a create request gives a bank of its own (a participant's handicap, a group's entry). */
export interface OwnBankInput {
  total_time_ms?: number | undefined;
  time_control?: TimeControl | undefined;
}

/**
 * A new bank's counters: from its own control, else the session's, else its own total, else
 * `sessionTotalMs`. What is its own is kept on the bank, so a reset can start it again.
 */
export function startBank(
  bank: Bank,
  own: OwnBankInput | undefined,
  state: SessionState,
  sessionTotalMs: number,
): void {
  if (own?.time_control !== undefined) bank.timeControl = own.time_control;
  if (own?.total_time_ms !== undefined) bank.ownTotalTimeMs = own.total_time_ms;
  const control = own?.time_control ?? state.config.timeControl;
  if (control === undefined) bank.bankMs = own?.total_time_ms ?? sessionTotalMs;
  else Object.assign(bank, ruleOf(control).start(control));
}

/** A bank as the create request gives it: where it is (`participants.0`) and its own fields. */
export interface BankInput {
  /** Where the bank is given; null for a group no `groups[]` entry declares. */
  path: string | null;
  /** What the bank is called in messages ("participant 'w'", "group 'g1'"). */
  name: string;
  total_time_ms?: number | undefined;
  time_control?: TimeControl | undefined;
}

/** The create rules both bank modes share: where each bank's time comes from, and each control's own rules. */
export function bankIssues(
  input: CreateSessionInput,
  banks: readonly BankInput[],
  noun: string,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const session = input.time_control;
  if (session !== undefined) {
    if (input.total_time_ms !== undefined) {
      issues.push({ path: 'total_time_ms', message: 'give time_control or total_time_ms, not both' });
    }
    if (input.increment_ms !== undefined) {
      issues.push({
        path: 'increment_ms',
        message:
          'the time_control sets the increment: give time_control or total_time_ms + increment_ms, not both',
      });
    }
    issues.push(...controlIssues(session, 'time_control'));
  }
  for (const bank of banks) {
    if (bank.time_control !== undefined) {
      issues.push(...controlIssues(bank.time_control, fieldPath(bank, 'time_control')));
      if (bank.total_time_ms !== undefined) {
        issues.push({
          path: fieldPath(bank, 'total_time_ms'),
          message: 'give time_control or total_time_ms, not both',
        });
      }
    } else if (bank.total_time_ms !== undefined && session !== undefined) {
      issues.push({
        path: fieldPath(bank, 'total_time_ms'),
        message: `the session has a time_control: give this ${noun} its own time_control instead`,
      });
    } else if (
      bank.total_time_ms === undefined &&
      input.total_time_ms === undefined &&
      session === undefined
    ) {
      issues.push({
        path: fieldPath(bank, 'total_time_ms'),
        message: `${bank.name} needs a total_time_ms or time_control (or set one for the session)`,
      });
    }
  }
  issues.push(...hourglassIssues(input, banks, noun));
  return issues;
}

/** Where a field of the bank is (or would be) given. */
function fieldPath(bank: BankInput, field: string): string {
  return bank.path === null ? 'groups' : `${bank.path}.${field}`;
}

function controlIssues(control: TimeControl, path: string): ValidationIssue[] {
  return ruleOf(control)
    .issues(control)
    .map((issue) => ({ path: `${path}.${issue.path}`, message: issue.message }));
}

/** Hourglass pairs two clocks: exactly two banks, both on hourglass, and one running out ends it. */
function hourglassIssues(
  input: CreateSessionInput,
  banks: readonly BankInput[],
  noun: string,
): ValidationIssue[] {
  const isHourglass = (bank: BankInput) => (bank.time_control ?? input.time_control)?.type === 'hourglass';
  const on = banks.filter(isHourglass);
  if (on.length === 0) return [];
  const issues: ValidationIssue[] = [];
  if (banks.length !== 2) {
    issues.push({
      path: 'participants',
      message: `hourglass needs exactly two ${noun}s (got ${banks.length})`,
    });
  }
  if (input.on_expire === 'skip_participant') {
    issues.push({
      path: 'on_expire',
      message: 'hourglass is over when either clock runs out: use end_session',
    });
  }
  for (const bank of banks) {
    if (!isHourglass(bank)) {
      issues.push({
        path: fieldPath(bank, 'time_control'),
        message: `hourglass pairs two clocks: ${bank.name} must be on hourglass too`,
      });
    }
  }
  return issues;
}
