// What clients see: the state as of `nowMs`, in the API's field names. Pure: the stored
// state is not changed; the caller applies due expiries first. The mode writes each clock.
import { elapsedSinceMs } from '@synckairos/client/clock';
import type {
  ClockSnapshot,
  ParticipantState,
  ParticipantView,
  SessionState,
  SessionView,
} from '../types/session.js';
import { deadlineAtMs } from './clocks.js';
import { clockStatusOf, isConcurrent } from './concurrent.js';
import { modeOf } from './modes/index.js';
import type { ModeClock } from './modes/mode.js';
import { activeParticipant, findGroup, isRunning } from './participants.js';
import { phaseFields, showsPhases } from './phases.js';

export function toSessionView(state: SessionState, nowMs: number): SessionView {
  const mode = modeOf(state);
  const pendingMs = isRunning(state) ? elapsedSinceMs(state.anchorAtMs, nowMs) : 0;
  const turnHolder = activeParticipant(state);
  const concurrent = isConcurrent(state);
  // concurrent: each participant whose own clock (per_group: group's) runs is "active" for its face.
  const activeFor = (p: ParticipantState): ParticipantState | undefined =>
    concurrent
      ? isRunning(state) && clockStatusOf(findGroup(state, p.groupId) ?? p) === 'running'
        ? p
        : undefined
      : turnHolder;
  const lagCompensation = state.config.lagCompensation === true;

  const view: SessionView = {
    session_id: state.sessionId,
    sync_mode: state.syncMode,
    status: state.status,
    version: state.version,
    event: state.lastEvent,
    server_time: nowMs,
    active_participant_id: state.activeParticipantId,
    cycle_started_at: state.cycleStartedAtMs,
    start_at: state.startAtMs,
    deadline_at: deadlineAtMs(state),
    total_time_ms: state.config.totalTimeMs,
    time_per_cycle_ms: state.config.timePerCycleMs,
    increment_ms: state.config.incrementMs,
    max_time_ms: state.config.maxTimeMs,
    on_expire: state.config.onExpire,
    participants: state.participants.map((p) => {
      const active = activeFor(p);
      const participant: ParticipantView = {
        participant_id: p.participantId,
        group_id: p.groupId,
        time_remaining_ms: null,
        time_used_ms: p.usedMs + (p === active ? pendingMs : 0),
        cycle_count: p.cycleCount,
        is_active: p === active,
        has_expired: p.hasExpired,
      };
      if (concurrent) participant.status = clockStatusOf(findGroup(state, p.groupId) ?? p);
      mode.writeParticipantClock(state, p, active, pendingMs, participant);
      if (lagCompensation) {
        participant.lag_ms = p.lagMs ?? 0;
        participant.lag_comp_ms = p.lagCompMs ?? 0;
        participant.lag_quota_ms = p.lagQuotaMs ?? 0;
      }
      return participant;
    }),
    metadata: state.metadata,
    created_at: state.createdAtMs,
    updated_at: state.updatedAtMs,
  };
  if (state.config.timeControl !== undefined) view.time_control = state.config.timeControl;
  if (lagCompensation) view.lag_compensation = true;
  if (concurrent) view.concurrent = true;
  if (state.config.phases !== undefined) {
    view.phases = state.config.phases.map((p) => ({ name: p.name, remaining_ms: p.remainingMs }));
  }
  const { onDisconnect } = state.config;
  if (onDisconnect !== undefined) {
    view.on_disconnect = { grace_ms: onDisconnect.graceMs, action: onDisconnect.action };
  }
  if (state.systemPause !== undefined) {
    view.pause_reason = state.systemPause.reason;
    view.pause_participant_id = state.systemPause.participantId;
  }
  mode.addViewFields(state, view, pendingMs);
  if (showsPhases(state)) writePhases(state, view, mode.clocks(state), nowMs);
  return view;
}

/** Each clock's phase fields: on its participant (and group), or on the session for its one clock. */
function writePhases(state: SessionState, view: SessionView, clocks: ModeClock[], nowMs: number): void {
  for (const clock of clocks) {
    const fields = phaseFields(state, clock, nowMs);
    if (clock.groupId !== null) {
      const group = view.groups?.find((g) => g.group_id === clock.groupId);
      if (group) Object.assign(group, fields);
      for (const p of view.participants) if (p.group_id === clock.groupId) Object.assign(p, fields);
    } else if (clock.participantId !== null) {
      const participant = view.participants.find((p) => p.participant_id === clock.participantId);
      if (participant) Object.assign(participant, fields);
    } else {
      Object.assign(view, fields);
    }
  }
}

/** Every clock's remaining time at `nowMs`, for the audit trail's before/after columns. */
export function clockSnapshot(state: SessionState, nowMs: number): ClockSnapshot {
  const view = toSessionView(state, nowMs);
  const snapshot: ClockSnapshot = {
    participants: Object.fromEntries(view.participants.map((p) => [p.participant_id, p.time_remaining_ms])),
  };
  if (view.groups)
    snapshot.groups = Object.fromEntries(view.groups.map((g) => [g.group_id, g.time_remaining_ms]));
  if (view.time_remaining_ms !== undefined) snapshot.session = view.time_remaining_ms;
  return snapshot;
}
