// The session's state as this handle holds it: versions only move forward, and the moment the
// current turn began (as this handle saw it) is kept for the think time a SWITCH reports.
import type { SessionView } from './wire/session.js';

/** The most think_ms a SWITCH may carry (the server's limit on durations, 30 days). */
const MAX_THINK_MS = 30 * 24 * 3600 * 1000;

export class SessionState {
  /** The last applied state; null until the first one. */
  current: SessionView | null = null;
  /** Monotonic time this handle received the state that began the current turn; null if not seen. */
  private turnReceivedAtMonoMs: number | null = null;

  constructor(private readonly onApplied: (state: SessionView) => void) {}

  /**
   * Applies a state received at `receivedMonoMs`; one older than (or as old as) the applied one
   * is dropped. Tells whether it was applied.
   */
  apply(state: SessionView, receivedMonoMs: number): boolean {
    const previous = this.current;
    if (previous !== null && state.version <= previous.version) return false;
    this.current = state;
    if (state.status !== 'running') this.turnReceivedAtMonoMs = null;
    // Only a turn seen to begin counts: the first state may be the middle of one.
    else if (
      previous !== null &&
      (state.cycle_started_at !== previous.cycle_started_at ||
        state.active_participant_id !== previous.active_participant_id)
    )
      this.turnReceivedAtMonoMs = receivedMonoMs;
    this.onApplied(state);
    return true;
  }

  /**
   * The mover's think time for a switch at `nowMonoMs`: from receiving the state that began the
   * turn, whole ms. Undefined when this handle did not see the turn begin; the server then
   * counts on the round trip it measured alone.
   */
  thinkMs(nowMonoMs: number): number | undefined {
    if (this.turnReceivedAtMonoMs === null || this.current?.status !== 'running') return undefined;
    return Math.min(MAX_THINK_MS, Math.max(0, Math.round(nowMonoMs - this.turnReceivedAtMonoMs)));
  }
}
