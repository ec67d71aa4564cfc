// Drives the pure engine the way SyncEngine does, with a clock the test moves by hand.
import { applyCommand } from '../../src/engine/commands.js';
import { createSessionState } from '../../src/engine/createSession.js';
import { applyDueExpiries } from '../../src/engine/expiry.js';
import { toSessionView } from '../../src/engine/view.js';
import type {
  CreateSessionInput,
  ParticipantView,
  SessionCommand,
  SessionEvent,
  SessionState,
  SessionView,
} from '../../src/types/session.js';

export const T0 = 1_700_000_000_000;

export class EngineDriver {
  nowMs = T0;
  state: SessionState;
  readonly events: SessionEvent[] = [];

  constructor(input: CreateSessionInput) {
    this.state = createSessionState(input, { sessionId: 'session-1', nowMs: this.nowMs });
  }

  advance(ms: number): this {
    this.nowMs += ms;
    return this;
  }

  /** Applies and keeps the expiries due by now, as the deadline scheduler does. */
  tick(): SessionView {
    const due = applyDueExpiries(this.state, this.nowMs);
    this.state = due.state;
    this.events.push(...due.events);
    return this.view();
  }

  /** Applies due expiries, then the command, then any expiry the command made due. */
  run(command: SessionCommand): SessionView {
    const due = applyDueExpiries(this.state, this.nowMs);
    this.state = due.state;
    this.events.push(...due.events);
    const outcome = applyCommand(this.state, command, this.nowMs);
    const after = applyDueExpiries(outcome.state, this.nowMs);
    this.state = after.state;
    this.events.push(...outcome.events, ...after.events);
    return this.view();
  }

  view(): SessionView {
    return toSessionView(applyDueExpiries(this.state, this.nowMs).state, this.nowMs);
  }

  participant(id: string): ParticipantView {
    const found = this.view().participants.find((p) => p.participant_id === id);
    if (!found) throw new Error(`no participant ${id}`);
    return found;
  }

  remaining(id: string): number | null {
    return this.participant(id).time_remaining_ms;
  }
}

export function players(...ids: string[]) {
  return ids.map((participant_id) => ({ participant_id }));
}
