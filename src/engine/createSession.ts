// Turns a create request into the first version of a session, enforcing the rules that tie
// fields together (the transport has already checked each field's type and range).
import { validationError, type ValidationIssue } from '../types/errors.js';
import type { CreateSessionInput, OnExpire, SessionState, SyncMode } from '../types/session.js';

/** Which on_expire policies make sense in each mode. */
const ON_EXPIRE_BY_MODE: Record<SyncMode, readonly OnExpire[]> = {
  per_participant: ['end_session', 'skip_participant'],
  per_cycle: ['end_session', 'auto_advance', 'skip_participant'],
  per_group: ['end_session', 'skip_participant'],
  global: ['end_session'],
  count_up: ['end_session'],
};

/** Top-level fields each mode reads; giving one a mode ignores is refused rather than dropped. */
const FIELDS_BY_MODE: Record<SyncMode, ReadonlySet<string>> = {
  per_participant: new Set(['total_time_ms', 'increment_ms']),
  per_cycle: new Set(['time_per_cycle_ms']),
  per_group: new Set(['total_time_ms', 'increment_ms', 'groups']),
  global: new Set(['total_time_ms']),
  count_up: new Set(['max_time_ms']),
};

const MODE_FIELDS = ['total_time_ms', 'time_per_cycle_ms', 'increment_ms', 'max_time_ms', 'groups'] as const;

export function createSessionState(
  input: CreateSessionInput,
  context: { sessionId: string; nowMs: number },
): SessionState {
  const issues = collectIssues(input);
  if (issues.length > 0) throw validationError(issues);

  const mode = input.sync_mode;
  const totalTimeMs = input.total_time_ms ?? null;
  const groupBankMs = new Map(
    (input.groups ?? []).map((g) => [g.group_id, g.total_time_ms ?? totalTimeMs ?? 0]),
  );
  const groupIds = [...new Set(input.participants.map((p) => p.group_id).filter((id) => id !== undefined))];
  const first = input.participants[0];

  return {
    sessionId: context.sessionId,
    syncMode: mode,
    status: 'pending',
    version: 1,
    config: {
      totalTimeMs,
      timePerCycleMs: input.time_per_cycle_ms ?? null,
      incrementMs: input.increment_ms ?? 0,
      maxTimeMs: input.max_time_ms ?? null,
      onExpire: input.on_expire ?? 'end_session',
    },
    participants: input.participants.map((p) => ({
      participantId: p.participant_id,
      groupId: p.group_id ?? null,
      bankMs: mode === 'per_participant' ? (p.total_time_ms ?? totalTimeMs ?? 0) : 0,
      usedMs: 0,
      cycleCount: 0,
      hasExpired: false,
    })),
    groups:
      mode === 'per_group'
        ? groupIds.map((groupId) => ({
            groupId,
            bankMs: groupBankMs.get(groupId) ?? totalTimeMs ?? 0,
            usedMs: 0,
            hasExpired: false,
          }))
        : [],
    activeParticipantId: first?.participant_id ?? null,
    anchorAtMs: null,
    cycleStartedAtMs: null,
    cycleBankMs: mode === 'per_cycle' ? (input.time_per_cycle_ms ?? 0) : 0,
    sessionBankMs: mode === 'global' ? (totalTimeMs ?? 0) : 0,
    elapsedMs: 0,
    lapStartElapsedMs: 0,
    laps: [],
    startAtMs: null,
    createdAtMs: context.nowMs,
    updatedAtMs: context.nowMs,
    lastEvent: 'created',
    metadata: input.metadata ?? null,
  };
}

function collectIssues(input: CreateSessionInput): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const mode = input.sync_mode;
  const allowed = FIELDS_BY_MODE[mode];

  for (const field of MODE_FIELDS) {
    if (input[field] !== undefined && !allowed.has(field)) {
      issues.push({ path: field, message: `not used by sync_mode '${mode}'` });
    }
  }

  const onExpire = input.on_expire ?? 'end_session';
  if (!ON_EXPIRE_BY_MODE[mode].includes(onExpire)) {
    issues.push({
      path: 'on_expire',
      message: `'${onExpire}' is not available in sync_mode '${mode}' (use ${ON_EXPIRE_BY_MODE[mode].join(', ')})`,
    });
  }

  if (input.participants.length === 0)
    issues.push({ path: 'participants', message: 'at least one is required' });
  const seen = new Set<string>();
  input.participants.forEach((p, index) => {
    if (seen.has(p.participant_id)) {
      issues.push({
        path: `participants.${index}.participant_id`,
        message: `duplicate id '${p.participant_id}'`,
      });
    }
    seen.add(p.participant_id);
    if (p.total_time_ms !== undefined && mode !== 'per_participant') {
      issues.push({
        path: `participants.${index}.total_time_ms`,
        message: `a participant's own bank is only used by sync_mode 'per_participant'`,
      });
    }
    if (mode === 'per_participant' && p.total_time_ms === undefined && input.total_time_ms === undefined) {
      issues.push({
        path: `participants.${index}.total_time_ms`,
        message: 'required when the session has no total_time_ms',
      });
    }
    if (mode === 'per_group' && p.group_id === undefined) {
      issues.push({ path: `participants.${index}.group_id`, message: "required in sync_mode 'per_group'" });
    }
  });

  if (mode === 'per_cycle' && input.time_per_cycle_ms === undefined) {
    issues.push({ path: 'time_per_cycle_ms', message: "required in sync_mode 'per_cycle'" });
  }
  if (mode === 'global' && input.total_time_ms === undefined) {
    issues.push({ path: 'total_time_ms', message: "required in sync_mode 'global'" });
  }
  if (mode === 'per_group') issues.push(...groupIssues(input));
  return issues;
}

function groupIssues(input: CreateSessionInput): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const usedGroups = new Set(input.participants.map((p) => p.group_id).filter((id) => id !== undefined));
  const declared = new Set<string>();
  (input.groups ?? []).forEach((g, index) => {
    if (declared.has(g.group_id)) {
      issues.push({ path: `groups.${index}.group_id`, message: `duplicate id '${g.group_id}'` });
    }
    declared.add(g.group_id);
    if (!usedGroups.has(g.group_id)) {
      issues.push({
        path: `groups.${index}.group_id`,
        message: `no participant belongs to group '${g.group_id}'`,
      });
    }
    if (g.total_time_ms === undefined && input.total_time_ms === undefined) {
      issues.push({
        path: `groups.${index}.total_time_ms`,
        message: 'required when the session has no total_time_ms',
      });
    }
  });
  if (input.total_time_ms === undefined) {
    for (const groupId of usedGroups) {
      if (!declared.has(groupId)) {
        issues.push({
          path: 'groups',
          message: `group '${groupId}' needs a total_time_ms (or set one for the session)`,
        });
      }
    }
  }
  return issues;
}
