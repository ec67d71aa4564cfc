// The clocks of a state at any server time, computed locally from the snapshot with the same
// formulas the engine uses (src/clock: the time formula and each time control's rules):
// calculate, don't count.
import { countersOfFace, flagInMs, writeFace, type ClockFace } from './clock/face.js';
import { ruleOf } from './clock/controls/index.js';
import { elapsedSinceMs, remainingAtMs } from './clock/time.js';
import { OVERTIME_PHASE, type GroupView, type ParticipantView, type SessionView } from './wire/session.js';
import type { TimeControl } from './wire/timeControl.js';

/** A clock face at one server time: the fields a participant's (or group's) view would have then. */
export interface LocalClockFace extends ClockFace {
  /** Whether this clock's time moves now (the active one, its group, a waiting hourglass clock). */
  running: boolean;
}

/**
 * Where the running clock counts from, as seen from the snapshot: its `server_time`, or a
 * scheduled `start_at` still ahead of it (the clock stays full until then). Null when nothing
 * runs.
 */
export function runningSinceMs(view: SessionView): number | null {
  if (view.status !== 'running') return null;
  return Math.max(view.server_time, view.start_at ?? view.server_time);
}

function activeOf(view: SessionView): ParticipantView | undefined {
  return view.participants.find((p) => p.is_active);
}

/**
 * Whether this participant's shown time runs down: the active one, its whole group, or
 * everybody when the session has one bank (global, count_up: the view's own time_remaining_ms);
 * in a concurrent session, every participant whose own clock runs.
 */
export function runsFor(view: SessionView, participant: ParticipantView): boolean {
  if (view.status !== 'running') return false;
  if (participant.status !== undefined) return participant.status === 'running';
  if (view.time_remaining_ms !== undefined) return true;
  if (view.groups !== undefined) return activeOf(view)?.group_id === participant.group_id;
  return participant.is_active;
}

/** The time control a participant's clock runs by (per_group: its group's); undefined: the shorthand. */
function controlOf(view: SessionView, participant: ParticipantView): TimeControl | undefined {
  const group = view.groups?.find((g) => g.group_id === participant.group_id);
  return participant.time_control ?? group?.time_control ?? view.time_control;
}

/** A face `runMs` further on, plus what a waiting hourglass clock gains from the running one. */
function faceAfter(
  view: SessionView,
  face: ParticipantView | GroupView,
  control: TimeControl | undefined,
  running: boolean,
  atServerMs: number,
): LocalClockFace {
  const elapsedMs = elapsedSinceMs(runningSinceMs(view), atServerMs);
  const out: LocalClockFace = { time_remaining_ms: face.time_remaining_ms, running };
  const active = activeOf(view);
  const gains =
    !running && elapsedMs > 0 && !face.has_expired && active !== undefined && ruleOf(control).waitingGains;
  if (gains) {
    const activeFlagInMs = flagInMs(countersOfFace(active), controlOf(view, active));
    out.running = true;
    writeFace(out, countersOfFace(face), control, 0, Math.min(elapsedMs, Math.max(0, activeFlagInMs)));
  } else {
    writeFace(out, countersOfFace(face), control, running ? elapsedMs : 0, 0, view.on_expire === 'overtime');
  }
  return out;
}

/**
 * A participant's clock face at `atServerMs` (per_group: its group's); null for an unknown
 * participant. An unlimited count_up clock has `time_remaining_ms: null`.
 */
export function participantFace(
  view: SessionView,
  participantId: string,
  atServerMs: number,
): LocalClockFace | null {
  const participant = view.participants.find((p) => p.participant_id === participantId);
  if (participant === undefined) return null;
  const running = runsFor(view, participant);
  if (participant.time_remaining_ms === null) return { time_remaining_ms: null, running };
  return faceAfter(view, participant, controlOf(view, participant), running, atServerMs);
}

/** A participant's remaining time at `atServerMs`; null for an unknown participant or an unlimited count_up. */
export function participantRemainingMs(
  view: SessionView,
  participantId: string,
  atServerMs: number,
): number | null {
  return participantFace(view, participantId, atServerMs)?.time_remaining_ms ?? null;
}

/** per_group: a group's clock face at `atServerMs`; null for an unknown group. */
export function groupFace(view: SessionView, groupId: string, atServerMs: number): LocalClockFace | null {
  const group = view.groups?.find((g) => g.group_id === groupId);
  if (group === undefined) return null;
  const running =
    view.status === 'running' &&
    (group.status !== undefined ? group.status === 'running' : activeOf(view)?.group_id === groupId);
  return faceAfter(view, group, group.time_control ?? view.time_control, running, atServerMs);
}

/** per_group: a group's remaining time at `atServerMs`; null for an unknown group. */
export function groupRemainingMs(view: SessionView, groupId: string, atServerMs: number): number | null {
  return groupFace(view, groupId, atServerMs)?.time_remaining_ms ?? null;
}

/** global: the session bank; count_up: what is left to max_time_ms. Null in other modes or without a limit. */
export function sessionRemainingMs(view: SessionView, atServerMs: number): number | null {
  if (view.time_remaining_ms === undefined || view.time_remaining_ms === null) return null;
  // overtime: the clock goes on below zero.
  if (view.on_expire === 'overtime') {
    return view.time_remaining_ms - elapsedSinceMs(runningSinceMs(view), atServerMs);
  }
  return remainingAtMs(view.time_remaining_ms, runningSinceMs(view), atServerMs);
}

/** count_up: elapsed time at `atServerMs` (pauses excluded, capped at max_time_ms); null in other modes. */
export function elapsedMs(view: SessionView, atServerMs: number): number | null {
  if (view.elapsed_ms === undefined) return null;
  const elapsed = view.elapsed_ms + elapsedSinceMs(runningSinceMs(view), atServerMs);
  return view.max_time_ms === null ? elapsed : Math.min(elapsed, view.max_time_ms);
}

/**
 * The phase of a clock with `remainingMs` left, named as the server names it (DESIGN §12.2):
 * `overtime` at or below zero when the session runs into overtime, else the last of the
 * session's thresholds at or above it (at remaining = threshold exactly the clock is in that
 * phase), else null. Computed here, so every screen changes at the crossing itself.
 */
export function phaseAt(view: SessionView, remainingMs: number | null): string | null {
  if (remainingMs === null) return null;
  if (remainingMs <= 0 && view.on_expire === 'overtime') return OVERTIME_PHASE;
  let phase: string | null = null;
  for (const threshold of view.phases ?? [])
    if (remainingMs <= threshold.remaining_ms) phase = threshold.name;
  return phase;
}
