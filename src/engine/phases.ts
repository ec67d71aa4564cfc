// Phases and overtime: named stretches of a clock's last `remaining_ms` (`phases`), and
// `overtime` below zero (on_expire overtime). A clock's phase is a pure function of its
// remaining time; the state keeps only the last phase announced, so that the deadline machinery
// knows which crossing is due next and announces each exactly once, at the crossing itself.
import { elapsedSinceMs } from '@synckairos/client/clock';
import { OVERTIME_PHASE, type PhaseFields, type PhaseMark, type SessionState } from '../types/session.js';
import type { ModeClock } from './modes/mode.js';
import { isRunning } from './participants.js';

/** What is due next in a running session: a phase crossing, a clock reaching zero in overtime, or a flag. */
export interface DueChange {
  atMs: number;
  kind: 'phase_changed' | 'overtime' | 'flag';
  clock: ModeClock;
  /** phase_changed: the phase it enters. */
  phase: string | null;
}

/** Whether the session's clocks have phases to show (thresholds, or overtime). */
export function showsPhases(state: SessionState): boolean {
  return state.config.phases !== undefined || state.config.onExpire === 'overtime';
}

/**
 * The phase of a clock with `remainingMs` left: `overtime` at or below zero (on_expire
 * overtime), else the last threshold at or above it, else null. At remaining = threshold
 * exactly the clock is in that threshold's phase.
 */
export function phaseAt(state: SessionState, remainingMs: number | null): string | null {
  if (remainingMs === null) return null;
  if (remainingMs <= 0 && state.config.onExpire === 'overtime') return OVERTIME_PHASE;
  let phase: string | null = null;
  for (const p of state.config.phases ?? []) if (remainingMs <= p.remainingMs) phase = p.name;
  return phase;
}

/** The remaining time at which a clock with `remainingMs` left next changes phase (0: overtime); null: never. */
function nextCrossingMs(state: SessionState, remainingMs: number): number | null {
  for (const p of state.config.phases ?? []) if (p.remainingMs < remainingMs) return p.remainingMs;
  return state.config.onExpire === 'overtime' && remainingMs > 0 ? 0 : null;
}

/** The crossing after the one last announced: a threshold, or overtime; null when none is left. */
function crossingAfterMark(
  state: SessionState,
  mark: PhaseMark,
): { name: string; remainingMs: number } | null {
  if (mark.phase === OVERTIME_PHASE) return null;
  const phases = state.config.phases ?? [];
  const index = mark.phase == null ? -1 : phases.findIndex((p) => p.name === mark.phase);
  const next = phases[index + 1];
  if (next !== undefined) return next;
  return state.config.onExpire === 'overtime' ? { name: OVERTIME_PHASE, remainingMs: 0 } : null;
}

/** The earliest change due in the session by time alone; null when nothing runs toward one. */
export function nextDueChange(state: SessionState, clocks: readonly ModeClock[]): DueChange | null {
  if (!isRunning(state) || state.anchorAtMs === null) return null;
  let first: DueChange | null = null;
  for (const clock of clocks) {
    const due = dueOf(state, state.anchorAtMs, clock);
    if (due !== null && (first === null || due.atMs < first.atMs)) first = due;
  }
  return first;
}

function dueOf(state: SessionState, anchorAtMs: number, clock: ModeClock): DueChange | null {
  if (!clock.runs || clock.out || clock.flagInMs === null) return null;
  const flagAtMs = anchorAtMs + clock.flagInMs;
  if (clock.mark.phase === OVERTIME_PHASE) return null;
  const crossing = crossingAfterMark(state, clock.mark);
  if (crossing === null) return { atMs: flagAtMs, kind: 'flag', clock, phase: null };
  // A crossing is never before the anchor: a mark left behind is announced at once, in order.
  const atMs = anchorAtMs + Math.max(0, clock.flagInMs - crossing.remainingMs);
  return crossing.name === OVERTIME_PHASE
    ? { atMs, kind: 'overtime', clock, phase: OVERTIME_PHASE }
    : { atMs, kind: 'phase_changed', clock, phase: crossing.name };
}

/** The true flag instant: the earliest running clock's zero that is not overtime. */
export function flagAtMs(state: SessionState, clocks: readonly ModeClock[]): number | null {
  if (!isRunning(state) || state.anchorAtMs === null) return null;
  let first: number | null = null;
  for (const clock of clocks) {
    if (!clock.runs || clock.out || clock.flagInMs === null || clock.mark.phase === OVERTIME_PHASE) continue;
    const atMs = state.anchorAtMs + clock.flagInMs;
    if (first === null || atMs < first) first = atMs;
  }
  return first;
}

/** A clock's remaining time at `nowMs` (its flag distance, negative in overtime); null: no limit. */
export function remainingAtMs(state: SessionState, clock: ModeClock, nowMs: number): number | null {
  if (clock.flagInMs === null) return null;
  const runningMs = clock.runs && isRunning(state) ? elapsedSinceMs(state.anchorAtMs, nowMs) : 0;
  return clock.flagInMs - runningMs;
}

/**
 * Sets each clock's announced phase to what its remaining time says at `nowMs`, after a command:
 * an adjust, a new cycle or a pause shows its phase in its own STATE, with no phase_changed of
 * its own; only time passing announces a crossing.
 */
export function markPhases(state: SessionState, clocks: readonly ModeClock[], nowMs: number): void {
  if (!showsPhases(state)) return;
  for (const clock of clocks) {
    if (clock.out) continue;
    const phase = phaseAt(state, remainingAtMs(state, clock, nowMs));
    if (phase !== null || clock.mark.phase != null) clock.mark.phase = phase;
  }
}

/** A clock's `phase` and `next_phase_at` at `nowMs`, as the view shows them. */
export function phaseFields(state: SessionState, clock: ModeClock, nowMs: number): PhaseFields {
  const remainingMs = remainingAtMs(state, clock, nowMs);
  const phase = clock.out ? (clock.mark.phase ?? null) : phaseAt(state, remainingMs);
  let nextPhaseAt: number | null = null;
  if (remainingMs !== null && clock.runs && !clock.out && isRunning(state) && state.anchorAtMs !== null) {
    const crossingMs = nextCrossingMs(state, remainingMs);
    // Before a scheduled start the clock is full and counts from the anchor.
    const runningFromMs = Math.max(nowMs, state.anchorAtMs);
    if (crossingMs !== null) nextPhaseAt = runningFromMs + remainingMs - crossingMs;
  }
  return { phase, next_phase_at: nextPhaseAt };
}
