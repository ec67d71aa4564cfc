// A batch of sessions as their first writes: each one created (and started at one shared
// instant when the batch gives start_at), every rule of a single create and start checked for
// each, and the whole batch refused, naming each bad session by its index, if any one is bad.
import { SyncKairosError, batchValidationError, type ValidationIssue } from '../types/errors.js';
import type { CreateSessionInput, SessionEvent, SessionState } from '../types/session.js';
import { newLifetime } from '../state/lifetime.js';
import { createSessionState } from './createSession.js';
import { markActive } from './idle.js';
import { step } from './step.js';
import { clockSnapshot } from './view.js';

/** One session's first write: its state and the events it records (created, then started). */
export interface FirstWrite {
  state: SessionState;
  events: SessionEvent[];
}

export interface CreateContext {
  sessionId: string;
  nowMs: number;
  actor: string | null;
}

/** A new session's first version and its `created` event; throws VALIDATION_ERROR when the input is bad. */
export function createdSession(input: CreateSessionInput, context: CreateContext): FirstWrite {
  const { sessionId, nowMs, actor } = context;
  const state = createSessionState(input, { sessionId, nowMs });
  state.lifetime = newLifetime();
  markActive(state, nowMs);
  const clocks = clockSnapshot(state, nowMs);
  const created: SessionEvent = {
    sessionId,
    version: state.version,
    type: 'created',
    atMs: nowMs,
    participantId: null,
    actor,
    clocksBefore: clocks,
    clocksAfter: clocks,
    state,
  };
  return { state, events: [created] };
}

/** Started at `startAtMs` as the start command does it (same checks), in the same first write. */
function startedAt(first: FirstWrite, startAtMs: number, nowMs: number, actor: string | null): FirstWrite {
  const outcome = step(first.state, { type: 'start', startAtMs }, nowMs, { actor });
  if (outcome.refused) throw outcome.error;
  markActive(outcome.state, nowMs);
  for (const event of outcome.events) markActive(event.state, nowMs);
  return { state: outcome.state, events: [...first.events, ...outcome.events] };
}

export interface BatchContext {
  nowMs: number;
  actor: string | null;
  /** Every session starts at this server time; pending when absent. */
  startAtMs?: number | undefined;
  /** The id of a session the request names none for. */
  newId: () => string;
}

/**
 * Every session's first write, in request order; throws one VALIDATION_ERROR for the whole batch
 * whose issues are at `sessions.<index>.<field>` (and `start_at`), with the bad indexes listed.
 */
export function createBatch(inputs: readonly CreateSessionInput[], context: BatchContext): FirstWrite[] {
  const { nowMs, actor, startAtMs } = context;
  const issues: ValidationIssue[] = [];
  const writes: FirstWrite[] = [];
  const firstIndexOf = new Map<string, number>();
  inputs.forEach((input, index) => {
    const sessionId = input.session_id ?? context.newId();
    const earlier = firstIndexOf.get(sessionId);
    if (earlier === undefined) firstIndexOf.set(sessionId, index);
    else {
      issues.push({
        path: `sessions.${index}.session_id`,
        message: `duplicate id '${sessionId}' (also at index ${earlier})`,
      });
    }
    try {
      const first = createdSession(input, { sessionId, nowMs, actor });
      writes.push(startAtMs === undefined ? first : startedAt(first, startAtMs, nowMs, actor));
    } catch (error) {
      issues.push(...issuesOf(error, index));
    }
  });
  if (issues.length > 0) throw batchValidationError(dedupe(issues));
  return writes;
}

/** A session's own issues under `sessions.<index>`; the batch's start_at stays where it was given. */
function issuesOf(error: unknown, index: number): ValidationIssue[] {
  if (!(error instanceof SyncKairosError) || error.code !== 'VALIDATION_ERROR') throw error;
  const { issues } = error.details as { issues: ValidationIssue[] };
  return issues.map((issue) =>
    issue.path === 'start_at' ? issue : { ...issue, path: `sessions.${index}.${issue.path}` },
  );
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\n${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
