// Recording a change: each one bumps the version and yields the event that describes it.
import type {
  ClockSnapshot,
  SessionEvent,
  SessionEventType,
  SessionState,
  SystemPause,
} from '../types/session.js';
import { clockSnapshot } from './view.js';

export interface Transition {
  state: SessionState;
  /** One event per version the change produced, oldest first (expiries may precede a command). */
  events: SessionEvent[];
}

export function recordChange(
  state: SessionState,
  events: SessionEvent[],
  change: {
    type: SessionEventType;
    atMs: number;
    participantId: string | null;
    actor?: string | null;
    /** The clocks just before the change, read at `atMs`. */
    clocksBefore: ClockSnapshot;
    /** A pause the server made by itself: this version alone carries why. */
    systemPause?: SystemPause | undefined;
  },
): void {
  state.version += 1;
  if (change.systemPause === undefined) delete state.systemPause;
  else state.systemPause = { ...change.systemPause };
  state.lastEvent = change.type;
  state.updatedAtMs = Math.max(state.updatedAtMs, change.atMs);
  events.push({
    sessionId: state.sessionId,
    version: state.version,
    type: change.type,
    atMs: change.atMs,
    participantId: change.participantId,
    actor: change.actor ?? null,
    clocksBefore: change.clocksBefore,
    clocksAfter: clockSnapshot(state, change.atMs),
    state: structuredClone(state),
  });
}
