// Turns a create request into the first version of a session, enforcing the rules that tie
// fields together (the transport has already checked each field's type and range). What each
// mode takes and requires is the mode's (./modes).
import { invalidState, validationError, type ValidationIssue } from '../types/errors.js';
import type { CreateSessionInput, SessionState } from '../types/session.js';
import { ruleOf } from '@synckairos/client/clock';
import { PHASE_NAME_PATTERN, OVERTIME_PHASE } from '../types/session.js';
import { initializeConcurrent } from './concurrent.js';
import { startLagQuotas } from './lag.js';
import { SYNC_MODE_RULES } from './modes/index.js';
import { MODE_FIELDS, OWN_PARTICIPANT_FIELDS } from './modes/mode.js';

export function createSessionState(
  input: CreateSessionInput,
  context: { sessionId: string; nowMs: number },
): SessionState {
  const issues = collectIssues(input);
  if (issues.length > 0) throw validationError(issues);
  return firstVersion(input, context);
}

/**
 * The session back at its first clocks (a reset): the same id, lifetime, settings and metadata,
 * with everything the clocks did since undone. The version goes on from the current one.
 */
export function resetSessionState(current: SessionState): SessionState {
  if (ownTotalsUnknown(current)) {
    throw invalidState('Cannot reset this session: it was stored before banks kept their own total_time_ms', {
      status: current.status,
      version: current.version,
    });
  }
  const state = firstVersion(inputOf(current), { sessionId: current.sessionId, nowMs: current.createdAtMs });
  if (current.lifetime !== undefined) state.lifetime = current.lifetime;
  if (current.lastCommandAtMs !== undefined) state.lastCommandAtMs = current.lastCommandAtMs;
  state.version = current.version;
  state.updatedAtMs = current.updatedAtMs;
  state.lastEvent = current.lastEvent;
  return state;
}

/**
 * A state stored before banks kept their own total_time_ms: with no session-wide total or control,
 * every bank had its own, and one with neither recorded cannot be rebuilt.
 */
function ownTotalsUnknown(state: SessionState): boolean {
  if (state.config.totalTimeMs !== null || state.config.timeControl !== undefined) return false;
  const banks =
    state.syncMode === 'per_group'
      ? state.groups
      : state.syncMode === 'per_participant'
        ? state.participants
        : [];
  return banks.some((bank) => bank.ownTotalTimeMs === undefined && bank.timeControl === undefined);
}

/** The create request a state was made from, as far as its clocks go (it was valid then). */
function inputOf(state: SessionState): CreateSessionInput {
  const { config } = state;
  return {
    sync_mode: state.syncMode,
    participants: state.participants.map((p) => ({
      participant_id: p.participantId,
      group_id: p.groupId ?? undefined,
      total_time_ms: p.ownTotalTimeMs,
      time_control: p.timeControl,
    })),
    groups: state.groups.map((g) => ({
      group_id: g.groupId,
      total_time_ms: g.ownTotalTimeMs,
      time_control: g.timeControl,
    })),
    total_time_ms: config.totalTimeMs ?? undefined,
    time_per_cycle_ms: config.timePerCycleMs ?? undefined,
    cycles: state.cues?.map((cue) => ({
      label: cue.label,
      duration_ms: cue.plannedMs,
      participant_id: cue.participantId ?? undefined,
    })),
    increment_ms: config.incrementMs,
    max_time_ms: config.maxTimeMs ?? undefined,
    on_expire: config.onExpire,
    time_control: config.timeControl,
    lag_compensation: config.lagCompensation,
    concurrent: config.concurrent,
    phases: config.phases?.map((phase) => ({ name: phase.name, remaining_ms: phase.remainingMs })),
    on_disconnect:
      config.onDisconnect === undefined
        ? undefined
        : { grace_ms: config.onDisconnect.graceMs, action: config.onDisconnect.action },
    metadata: state.metadata ?? undefined,
  };
}

/** The first version of a session from a request that is known to be valid. */
function firstVersion(
  input: CreateSessionInput,
  context: { sessionId: string; nowMs: number },
): SessionState {
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
  if (input.concurrent === true) initializeConcurrent(state);
  if (input.phases !== undefined) {
    state.config.phases = input.phases.map((p) => ({ name: p.name, remainingMs: p.remaining_ms }));
  }
  if (input.on_disconnect !== undefined) {
    state.config.onDisconnect = { graceMs: input.on_disconnect.grace_ms, action: input.on_disconnect.action };
  }
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
  issues.push(...concurrentIssues(input), ...phaseIssues(input), ...overtimeIssues(input));
  return issues;
}

/** Clocks that run at once have no moves: nothing to compensate, no hourglass to pass. */
function concurrentIssues(input: CreateSessionInput): ValidationIssue[] {
  if (input.concurrent !== true) return [];
  const issues: ValidationIssue[] = [];
  if (input.lag_compensation === true) {
    issues.push({ path: 'lag_compensation', message: 'a concurrent session has no moves to compensate' });
  }
  if (controlsOf(input).some((control) => control?.type === 'hourglass')) {
    issues.push({ path: 'time_control', message: 'hourglass passes time between two turns: not concurrent' });
  }
  return issues;
}

/** Names `[a-z0-9_-]{1,32}`, each once and never `overtime`; thresholds strictly decreasing. */
function phaseIssues(input: CreateSessionInput): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  (input.phases ?? []).forEach((phase, index) => {
    if (!PHASE_NAME_PATTERN.test(phase.name)) {
      issues.push({ path: `phases.${index}.name`, message: 'must match [a-z0-9_-]{1,32}' });
    } else if (phase.name === OVERTIME_PHASE) {
      issues.push({
        path: `phases.${index}.name`,
        message: "'overtime' is the phase below zero (on_expire overtime)",
      });
    } else if (seen.has(phase.name)) {
      issues.push({ path: `phases.${index}.name`, message: `duplicate name '${phase.name}'` });
    }
    seen.add(phase.name);
    const before = input.phases?.[index - 1];
    if (before !== undefined && phase.remaining_ms >= before.remaining_ms) {
      issues.push({
        path: `phases.${index}.remaining_ms`,
        message: `thresholds must be strictly decreasing (${phase.remaining_ms} follows ${before.remaining_ms})`,
      });
    }
  });
  if (input.phases !== undefined && input.sync_mode === 'count_up' && input.max_time_ms === undefined) {
    issues.push({ path: 'phases', message: 'count_up clocks have phases only toward max_time_ms' });
  }
  return issues;
}

/** Overtime counts a plain bank below zero; periods, delays and stages have no such count. */
function overtimeIssues(input: CreateSessionInput): ValidationIssue[] {
  if (input.on_expire !== 'overtime') return [];
  return controlsOf(input).some((control) => !ruleOf(control).bankOnly)
    ? [{ path: 'on_expire', message: 'overtime needs plain banks (no time_control, or fischer)' }]
    : [];
}

/** Every time control the request gives: the session's and each participant's and group's own. */
function controlsOf(input: CreateSessionInput) {
  return [
    input.time_control,
    ...input.participants.map((p) => p.time_control),
    ...(input.groups ?? []).map((g) => g.time_control),
  ].filter((control) => control !== undefined);
}
