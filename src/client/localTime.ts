// The clocks of a state at any server time, computed locally from the snapshot with the same
// formula the engine uses (src/engine/time.ts): calculate, don't count.
import { elapsedSinceMs, remainingAtMs } from '../engine/time.js';
import type { ParticipantView, SessionView } from '../types/session.js';

/**
 * Where the running clock counts from, as seen from the snapshot: its `server_time`, or a
 * scheduled `start_at` still ahead of it (the clock stays full until then). Null when nothing
 * runs.
 */
export function runningSinceMs(view: SessionView): number | null {
  if (view.status !== 'running') return null;
  return Math.max(view.server_time, view.start_at ?? view.server_time);
}

/** Whether this participant's shown time runs: the active one, its whole group, or everybody for a session-wide bank. */
export function runsFor(view: SessionView, participant: ParticipantView): boolean {
  if (view.status !== 'running') return false;
  switch (view.sync_mode) {
    case 'per_participant':
    case 'per_cycle':
      return participant.is_active;
    case 'per_group': {
      const active = view.participants.find((p) => p.is_active);
      return active !== undefined && active.group_id === participant.group_id;
    }
    case 'global':
    case 'count_up':
      return true;
  }
}

/** A participant's remaining time at `atServerMs`; null for an unknown participant or an unlimited count_up. */
export function participantRemainingMs(
  view: SessionView,
  participantId: string,
  atServerMs: number,
): number | null {
  const participant = view.participants.find((p) => p.participant_id === participantId);
  if (participant === undefined || participant.time_remaining_ms === null) return null;
  return runsFor(view, participant)
    ? remainingAtMs(participant.time_remaining_ms, runningSinceMs(view), atServerMs)
    : participant.time_remaining_ms;
}

/** per_group: a group's remaining time at `atServerMs`; null for an unknown group. */
export function groupRemainingMs(view: SessionView, groupId: string, atServerMs: number): number | null {
  const group = view.groups?.find((g) => g.group_id === groupId);
  if (group === undefined) return null;
  const active = view.participants.find((p) => p.is_active);
  return active !== undefined && active.group_id === groupId
    ? remainingAtMs(group.time_remaining_ms, runningSinceMs(view), atServerMs)
    : group.time_remaining_ms;
}

/** global: the session bank; count_up: what is left to max_time_ms. Null in other modes or without a limit. */
export function sessionRemainingMs(view: SessionView, atServerMs: number): number | null {
  if (view.time_remaining_ms === undefined || view.time_remaining_ms === null) return null;
  return remainingAtMs(view.time_remaining_ms, runningSinceMs(view), atServerMs);
}

/** count_up: elapsed time at `atServerMs` (pauses excluded, capped at max_time_ms); null in other modes. */
export function elapsedMs(view: SessionView, atServerMs: number): number | null {
  if (view.elapsed_ms === undefined) return null;
  const elapsed = view.elapsed_ms + elapsedSinceMs(runningSinceMs(view), atServerMs);
  return view.max_time_ms === null ? elapsed : Math.min(elapsed, view.max_time_ms);
}
