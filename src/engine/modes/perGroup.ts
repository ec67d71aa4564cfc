// per_group: each group has one bank, run by its time control; the active participant's group
// bank runs, a move ends that group's turn, and a group whose bank reaches zero is out with
// all its members.
import { invalidState, validationError, type ValidationIssue } from '../../types/errors.js';
import type { CreateSessionInput, GroupState, SessionState } from '../../types/session.js';
import { bankRuns, isConcurrent, isOut } from '../concurrent.js';
import { activeGroup, findGroup, findParticipant, isRunning } from '../participants.js';
import {
  bankFlagInMs,
  bankIssues,
  chargeBank,
  endBankTurn,
  startBank,
  writeBankFace,
  type BankInput,
} from './banks.js';
import type { SyncModeRules } from './mode.js';

const UNLIMITED_MS = Number.MAX_SAFE_INTEGER;

export const perGroup: SyncModeRules = {
  fields: new Set([
    'total_time_ms',
    'increment_ms',
    'groups',
    'time_control',
    'lag_compensation',
    'concurrent',
  ]),
  participantFields: new Set(),
  onExpire: ['end_session', 'skip_participant', 'overtime'],

  issues(input) {
    const issues: ValidationIssue[] = [];
    input.participants.forEach((p, index) => {
      if (p.group_id === undefined) {
        issues.push({ path: `participants.${index}.group_id`, message: "required in sync_mode 'per_group'" });
      }
    });
    issues.push(...declaredGroupIssues(input));
    issues.push(...bankIssues(input, bankInputs(input), 'group'));
    return issues;
  },

  initialize(state, input) {
    if (input.time_control !== undefined) state.config.timeControl = input.time_control;
    const declared = new Map((input.groups ?? []).map((g) => [g.group_id, g]));
    state.groups = usedGroupIds(input).map((groupId) => {
      const group: GroupState = { groupId, bankMs: 0, usedMs: 0, hasExpired: false };
      const own = declared.get(groupId);
      startBank(group, own, state, input.total_time_ms ?? 0);
      return group;
    });
  },

  clocks(state) {
    const active = activeGroup(state);
    return state.groups.map((g) => ({
      participantId: null,
      groupId: g.groupId,
      flagInMs: bankFlagInMs(state, g),
      runs: bankRuns(state, g, g === active),
      out: isOut(g),
      mark: g,
    }));
  },
  charge(state, active, elapsedMs) {
    const group = runningGroup(state, active);
    if (group) group.usedMs += elapsedMs;
    chargeBank(state, group, state.groups, elapsedMs);
  },
  endTurn: (state, finishing) => endBankTurn(state, findGroup(state, finishing.groupId)),
  switchesInPlaceWhenAlone: false,
  beginTurn() {},
  markOut(state) {
    const group = activeGroup(state);
    if (!group) return;
    group.hasExpired = true;
    for (const p of state.participants) if (p.groupId === group.groupId) p.hasExpired = true;
  },

  adjustableBank(state, command, participant) {
    const groupId = command.groupId ?? participant?.groupId ?? null;
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
      set: (valueMs) => (g.bankMs = valueMs),
      limitMs: UNLIMITED_MS,
    };
  },

  writeParticipantClock(state, p, active, pendingMs, out) {
    const group = findGroup(state, p.groupId);
    if (group === undefined) {
      out.time_remaining_ms = 0;
      return;
    }
    writeBankFace(state, group, runningGroup(state, active), pendingMs, out);
  },

  addViewFields(state, view, pendingMs) {
    const active = runningGroup(state, findParticipant(state, state.activeParticipantId));
    view.groups = state.groups.map((g) => {
      // concurrent: each group's clock runs on its own status.
      const running = isConcurrent(state)
        ? isRunning(state) && g.clockStatus === 'running'
          ? g
          : undefined
        : active;
      const groupView: NonNullable<typeof view.groups>[number] = {
        group_id: g.groupId,
        time_remaining_ms: 0,
        time_used_ms: g.usedMs + (g === running ? pendingMs : 0),
        has_expired: g.hasExpired,
      };
      if (isConcurrent(state)) groupView.status = g.clockStatus ?? 'pending';
      writeBankFace(state, g, running, pendingMs, groupView);
      if (g.timeControl !== undefined) groupView.time_control = g.timeControl;
      return groupView;
    });
  },
};

function runningGroup(
  state: SessionState,
  active: { groupId: string | null } | undefined,
): GroupState | undefined {
  return active === undefined ? undefined : findGroup(state, active.groupId);
}

function usedGroupIds(input: CreateSessionInput): string[] {
  return [...new Set(input.participants.map((p) => p.group_id).filter((id) => id !== undefined))];
}

/** Each group a participant belongs to, as a bank; declared in groups[] or not. */
function bankInputs(input: CreateSessionInput): BankInput[] {
  const declared = new Map((input.groups ?? []).map((g, index) => [g.group_id, { g, index }]));
  return usedGroupIds(input).map((groupId) => {
    const entry = declared.get(groupId);
    return {
      path: entry === undefined ? null : `groups.${entry.index}`,
      name: `group '${groupId}'`,
      total_time_ms: entry?.g.total_time_ms,
      time_control: entry?.g.time_control,
    };
  });
}

/** groups[] names each group once, and only groups that have members. */
function declaredGroupIssues(input: CreateSessionInput): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const used = new Set(usedGroupIds(input));
  const seen = new Set<string>();
  (input.groups ?? []).forEach((g, index) => {
    if (seen.has(g.group_id)) {
      issues.push({ path: `groups.${index}.group_id`, message: `duplicate id '${g.group_id}'` });
    }
    seen.add(g.group_id);
    if (!used.has(g.group_id)) {
      issues.push({
        path: `groups.${index}.group_id`,
        message: `no participant belongs to group '${g.group_id}'`,
      });
    }
  });
  return issues;
}
