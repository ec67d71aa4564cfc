// Turns a create request into the first version of a session, enforcing the rules that tie
// fields together (the transport has already checked each field's type and range). What each
// mode takes and requires is the mode's (./modes).
import { validationError, type ValidationIssue } from '../types/errors.js';
import type { CreateSessionInput, SessionState } from '../types/session.js';
import { startLagQuotas } from './lag.js';
import { SYNC_MODE_RULES } from './modes/index.js';
import { MODE_FIELDS, OWN_PARTICIPANT_FIELDS } from './modes/mode.js';

export function createSessionState(
  input: CreateSessionInput,
  context: { sessionId: string; nowMs: number },
): SessionState {
  const issues = collectIssues(input);
  if (issues.length > 0) throw validationError(issues);

  const state: SessionState = {
    sessionId: context.sessionId,
    syncMode: input.sync_mode,
    status: 'pending',
    version: 1,
    config: {
      totalTimeMs: input.total_time_ms ?? null,
      timePerCycleMs: input.time_per_cycle_ms ?? null,
      incrementMs: input.increment_ms ?? 0,
      maxTimeMs: input.max_time_ms ?? null,
      onExpire: input.on_expire ?? 'end_session',
    },
    participants: input.participants.map((p) => ({
      participantId: p.participant_id,
      groupId: p.group_id ?? null,
      bankMs: 0,
      usedMs: 0,
      cycleCount: 0,
      hasExpired: false,
    })),
    groups: [],
    activeParticipantId: input.participants[0]?.participant_id ?? null,
    anchorAtMs: null,
    cycleStartedAtMs: null,
    cycleBankMs: 0,
    sessionBankMs: 0,
    elapsedMs: 0,
    lapStartElapsedMs: 0,
    laps: [],
    startAtMs: null,
    createdAtMs: context.nowMs,
    updatedAtMs: context.nowMs,
    lastEvent: 'created',
    metadata: input.metadata ?? null,
  };
  SYNC_MODE_RULES[input.sync_mode].initialize(state, input);
  if (input.lag_compensation === true) startLagQuotas(state);
  return state;
}

function collectIssues(input: CreateSessionInput): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const modeName = input.sync_mode;
  const mode = SYNC_MODE_RULES[modeName];

  for (const field of MODE_FIELDS) {
    if (input[field] !== undefined && !mode.fields.has(field)) {
      issues.push({ path: field, message: `not used by sync_mode '${modeName}'` });
    }
  }

  const onExpire = input.on_expire ?? 'end_session';
  if (!mode.onExpire.includes(onExpire)) {
    issues.push({
      path: 'on_expire',
      message: `'${onExpire}' is not available in sync_mode '${modeName}' (use ${mode.onExpire.join(', ')})`,
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
    for (const field of OWN_PARTICIPANT_FIELDS) {
      if (p[field] !== undefined && !mode.participantFields.has(field)) {
        issues.push({
          path: `participants.${index}.${field}`,
          message: `a participant's own ${field} is only used by sync_mode 'per_participant'`,
        });
      }
    }
  });
  issues.push(...mode.issues(input));
  return issues;
}
