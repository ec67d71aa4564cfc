// One command at one instant, as every caller applies it: the expiries due by then, then the
// command, then any expiry the command made due (an adjust to zero falls at once).
import type { SessionCommand, SessionState } from '../types/session.js';
import { versionConflict } from '../types/errors.js';
import { applyCommand } from './commands.js';
import { applyDueExpiries } from './expiry.js';
import type { Transition } from './transition.js';

export interface StepOptions {
  /** Refused with VERSION_CONFLICT unless the state (after due expiries) is at this version. */
  expectedVersion?: number | undefined;
  actor?: string | null | undefined;
  /** Runs on the state the command is about to change and throws to refuse it. */
  guard?: ((state: SessionState) => void) | undefined;
}

/**
 * The outcome of a step. A refused command changes nothing, but the expiries due before it
 * are still changes: `state` and `events` then hold those alone, and `refused` says why.
 */
export type Step = Transition & ({ refused: false } | { refused: true; error: unknown });

export function step(
  current: SessionState,
  command: SessionCommand,
  nowMs: number,
  options: StepOptions = {},
): Step {
  const due = applyDueExpiries(current, nowMs);
  let outcome: Transition;
  try {
    if (options.expectedVersion !== undefined && options.expectedVersion !== due.state.version) {
      throw versionConflict(options.expectedVersion, due.state.version);
    }
    options.guard?.(due.state);
    outcome = applyCommand(due.state, command, nowMs, options.actor ?? null);
  } catch (error) {
    return { ...due, refused: true, error };
  }
  const after = applyDueExpiries(outcome.state, nowMs);
  const events =
    due.events.length === 0 && after.events.length === 0
      ? outcome.events
      : [...due.events, ...outcome.events, ...after.events];
  return { state: after.state, events, refused: false };
}
