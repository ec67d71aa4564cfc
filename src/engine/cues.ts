// per_cycle cue lists: a run sheet of labelled cues, each with its planned time, run in order.
// A cue ends with a switch (or at its deadline under auto_advance); its actual time is the
// wall clock from its start to its end, so a pause or an adjust shows up as drift, as it does
// for a stage manager. Only sessions created with `cycles` reach this module.
import { elapsedSinceMs } from '@synckairos/client/clock';
import { invalidState, validationError, type ValidationIssue } from '../types/errors.js';
import type {
  CreateSessionInput,
  Cue,
  ParticipantState,
  SessionCommand,
  SessionEventType,
  SessionState,
  SessionView,
} from '../types/session.js';
import { beginTurn, chargeElapsed, deadlineAtMs } from './clocks.js';
import { activeParticipant, findParticipant, nextParticipantInOrder } from './participants.js';

export type CueListState = SessionState & { cues: Cue[]; cueIndex: number };

export function hasCues(state: SessionState): state is CueListState {
  return state.cues !== undefined;
}

/** What a cue list asks of a create request beyond each field's own type and range. */
export function cueIssues(input: CreateSessionInput): ValidationIssue[] {
  if (input.cycles === undefined) return [];
  const issues: ValidationIssue[] = [];
  if (input.time_per_cycle_ms !== undefined) {
    issues.push({ path: 'cycles', message: 'give cycles or time_per_cycle_ms, not both' });
  }
  if (input.on_expire === 'skip_participant') {
    issues.push({
      path: 'on_expire',
      message: "a cue list runs every cue: use end_session, auto_advance or overtime, not 'skip_participant'",
    });
  }
  const ids = new Set(input.participants.map((p) => p.participant_id));
  input.cycles.forEach((cue, index) => {
    if (cue.participant_id !== undefined && !ids.has(cue.participant_id)) {
      issues.push({
        path: `cycles.${index}.participant_id`,
        message: `'${cue.participant_id}' is not a participant of this session`,
      });
    }
  });
  return issues;
}

export function initializeCues(state: SessionState, cycles: NonNullable<CreateSessionInput['cycles']>): void {
  state.cues = cycles.map((cue) => ({
    label: cue.label,
    participantId: cue.participant_id ?? null,
    plannedMs: cue.duration_ms,
    actualMs: null,
  }));
  state.cueIndex = 0;
  state.cycleBankMs = cycles[0]?.duration_ms ?? 0;
  const first = cycles[0]?.participant_id;
  if (first !== undefined) state.activeParticipantId = first;
}

/** The planned time of the running cue: what a new cue's clock starts from. */
export function runningCuePlannedMs(state: CueListState): number {
  return state.cues[state.cueIndex]?.plannedMs ?? 0;
}

/** The running cue ends at `atMs`: its actual time is the wall clock since it began. */
export function finishCue(state: CueListState, atMs: number): void {
  const cue = state.cues[state.cueIndex];
  if (cue === undefined || state.cycleStartedAtMs === null) return;
  cue.actualMs = elapsedSinceMs(state.cycleStartedAtMs, atMs);
}

type SwitchCommand = Extract<SessionCommand, { type: 'switch' }>;

/**
 * An operator's switch in a cue list: the running cue ends now and the next one (or the one
 * asked for) starts; on the last cue the run sheet is done and the session completes.
 */
export function switchCue(state: CueListState, command: SwitchCommand, nowMs: number): SessionEventType {
  const nextIndex = nextCueIndex(state, command.nextCycleIndex);
  const holder = nextIndex === null ? undefined : cueHolder(state, nextIndex, command.nextParticipantId);
  if (nextIndex === null && command.nextParticipantId !== undefined) {
    throw invalidState('The last cue is running: the switch completes the session, with no one to take it', {
      cycle_index: state.cueIndex,
    });
  }
  return endCueAt(state, nowMs, nextIndex, holder) ? 'switched' : 'completed';
}

/** auto_advance: the running cue ran out at `deadlineMs` and the next starts at that instant. */
export function advanceCueAt(state: CueListState, deadlineMs: number): SessionEventType {
  const nextIndex = state.cueIndex + 1 < state.cues.length ? state.cueIndex + 1 : null;
  const holder = nextIndex === null ? undefined : cueHolder(state, nextIndex, undefined);
  return endCueAt(state, deadlineMs, nextIndex, holder) ? 'cycle_advanced' : 'completed';
}

/**
 * auto_advance left alone: every cue whose deadline is due by `nowMs` ends at its deadline, in
 * one go; returns the last change's instant and event, or null if none was due.
 */
export function fastForwardCues(
  state: CueListState,
  nowMs: number,
): { atMs: number; type: SessionEventType } | null {
  let last: { atMs: number; type: SessionEventType } | null = null;
  for (let atMs = deadlineAtMs(state); atMs !== null && atMs <= nowMs; atMs = deadlineAtMs(state)) {
    last = { atMs, type: advanceCueAt(state, atMs) };
  }
  return last;
}

/** Ends the running cue at `atMs` and starts cue `nextIndex`; false when none follows and the session completed. */
function endCueAt(
  state: CueListState,
  atMs: number,
  nextIndex: number | null,
  holder: ParticipantState | undefined,
): boolean {
  chargeElapsed(state, elapsedSinceMs(state.anchorAtMs, atMs));
  const finishing = activeParticipant(state);
  if (finishing) finishing.cycleCount += 1;
  finishCue(state, atMs);
  if (nextIndex === null || holder === undefined) {
    state.anchorAtMs = null;
    state.status = 'completed';
    return false;
  }
  state.cueIndex = nextIndex;
  beginTurn(state, holder, atMs);
  return true;
}

/** The cue a switch runs next: the one asked for (later than the running one), or the next; null after the last. */
function nextCueIndex(state: CueListState, requested: number | undefined): number | null {
  if (requested === undefined) return state.cueIndex + 1 < state.cues.length ? state.cueIndex + 1 : null;
  if (requested >= state.cues.length) {
    throw validationError([
      {
        path: 'next_cycle_index',
        message: `is out of range: this cue list has cues 0 to ${state.cues.length - 1}`,
      },
    ]);
  }
  if (requested <= state.cueIndex) {
    throw invalidState(
      `Cannot switch to cue ${requested}: cue ${state.cueIndex} is running and a cue list only moves forward`,
      { cycle_index: state.cueIndex, next_cycle_index: requested },
    );
  }
  return requested;
}

/** Who is active during cue `index`: the cue's own participant, or the turn order's next. */
function cueHolder(state: CueListState, index: number, requestedId: string | undefined): ParticipantState {
  const cue = state.cues[index];
  const ownId = cue?.participantId ?? null;
  if (requestedId !== undefined && ownId !== null && requestedId !== ownId) {
    throw validationError([
      { path: 'next_participant_id', message: `cue ${index} is for '${ownId}', not '${requestedId}'` },
    ]);
  }
  const wantedId = ownId ?? requestedId;
  if (wantedId !== undefined) {
    const wanted = findParticipant(state, wantedId);
    if (!wanted) {
      throw validationError([
        { path: 'next_participant_id', message: `'${wantedId}' is not a participant of this session` },
      ]);
    }
    return wanted;
  }
  const holder = nextParticipantInOrder(state) ?? activeParticipant(state);
  // Every session has a participant and nobody is put out in a cue list: a holder always exists.
  if (holder === undefined) throw new Error('a cue list without a participant');
  return holder;
}

/** The cue list's view fields: the running cue, every cue as planned and as run, and the drift. */
export function writeCueView(state: CueListState, view: SessionView, remainingMs: number): void {
  let driftMs = 0;
  view.cycle_index = state.cueIndex;
  view.cycles = state.cues.map((cue) => {
    const overUnderMs = cue.actualMs === null ? null : cue.actualMs - cue.plannedMs;
    driftMs += overUnderMs ?? 0;
    return {
      label: cue.label,
      participant_id: cue.participantId,
      planned_ms: cue.plannedMs,
      actual_ms: cue.actualMs,
      over_under_ms: overUnderMs,
    };
  });
  view.over_under_ms = driftMs;
  view.time_remaining_ms = remainingMs;
}
