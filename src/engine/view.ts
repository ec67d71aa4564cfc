// What clients see: the state as of `nowMs`, in the API's field names. Pure: the stored
// state is not changed; the caller applies due expiries first.
import type { ClockSnapshot, ParticipantState, SessionState, SessionView } from '../types/session.js';
import { activeParticipant, deadlineAtMs, findGroup, isRunning } from './clocks.js';
import { elapsedSinceMs } from './time.js';

export function toSessionView(state: SessionState, nowMs: number): SessionView {
  const pendingMs = isRunning(state) ? elapsedSinceMs(state.anchorAtMs, nowMs) : 0;
  const active = activeParticipant(state);
  const activeGroupId = active?.groupId ?? null;
  const countUpElapsedMs = state.elapsedMs + (state.syncMode === 'count_up' ? pendingMs : 0);
  const maxTimeMs = state.config.maxTimeMs;

  const remainingOf = (p: ParticipantState): number | null => {
    const pendingHere = p === active ? pendingMs : 0;
    switch (state.syncMode) {
      case 'per_participant':
        return p.bankMs - pendingHere;
      case 'per_group': {
        const group = findGroup(state, p.groupId);
        return group ? group.bankMs - (p.groupId === activeGroupId ? pendingMs : 0) : 0;
      }
      case 'per_cycle':
        if (p.hasExpired) return 0;
        return p === active ? state.cycleBankMs - pendingHere : (state.config.timePerCycleMs ?? 0);
      case 'global':
        return state.sessionBankMs - pendingMs;
      case 'count_up':
        return maxTimeMs === null ? null : maxTimeMs - countUpElapsedMs;
    }
  };

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
    max_time_ms: maxTimeMs,
    on_expire: state.config.onExpire,
    participants: state.participants.map((p) => ({
      participant_id: p.participantId,
      group_id: p.groupId,
      time_remaining_ms: nonNegative(remainingOf(p)),
      time_used_ms: p.usedMs + (p === active ? pendingMs : 0),
      cycle_count: p.cycleCount,
      is_active: p === active,
      has_expired: p.hasExpired,
    })),
    metadata: state.metadata,
    created_at: state.createdAtMs,
    updated_at: state.updatedAtMs,
  };

  if (state.syncMode === 'per_group') {
    view.groups = state.groups.map((g) => {
      const pendingHere = g.groupId === activeGroupId ? pendingMs : 0;
      return {
        group_id: g.groupId,
        time_remaining_ms: Math.max(0, g.bankMs - pendingHere),
        time_used_ms: g.usedMs + pendingHere,
        has_expired: g.hasExpired,
      };
    });
  }
  if (state.syncMode === 'global') view.time_remaining_ms = Math.max(0, state.sessionBankMs - pendingMs);
  if (state.syncMode === 'count_up') {
    view.elapsed_ms = countUpElapsedMs;
    view.time_remaining_ms = nonNegative(maxTimeMs === null ? null : maxTimeMs - countUpElapsedMs);
    view.laps = state.laps.map((lap) => ({
      participant_id: lap.participantId,
      lap_ms: lap.lapMs,
      elapsed_ms: lap.elapsedMs,
    }));
  }
  return view;
}

function nonNegative(valueMs: number | null): number | null {
  return valueMs === null ? null : Math.max(0, valueMs);
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
