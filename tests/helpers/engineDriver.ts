// Drives the pure engine the way SyncEngine does, with a clock the test moves by hand.
import { expect } from 'vitest';
import { createSessionState } from '../../src/engine/createSession.js';
import { applyDueExpiries } from '../../src/engine/expiry.js';
import { step } from '../../src/engine/step.js';
import { toSessionView } from '../../src/engine/view.js';
import { SyncKairosError } from '../../src/types/errors.js';
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

  /** Runs a command that may well be refused (random scenarios): a refusal is ignored, any other error is not. */
  tryRun(command: SessionCommand): void {
    try {
      this.run(command);
    } catch (error) {
      if (!(error instanceof SyncKairosError)) throw error;
    }
  }

  /** One engine step, as SyncEngine takes it: due expiries, the command, any expiry it made due. */
  run(command: SessionCommand): SessionView {
    const outcome = step(this.state, command, this.nowMs);
    this.state = outcome.state;
    this.events.push(...outcome.events);
    if (outcome.refused) throw outcome.error;
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

/** A step of a random scenario: time passes, or a command arrives. */
export type Step = { advanceMs: number } | { command: SessionCommand };

/** Starts the session and plays the steps (due expiries fall as time passes), calling `check` after each. */
export function play(
  input: CreateSessionInput,
  steps: readonly Step[],
  check: (clock: EngineDriver, view: SessionView) => void = () => {},
): EngineDriver {
  const clock = new EngineDriver(input);
  clock.run({ type: 'start' });
  for (const s of steps) {
    if ('advanceMs' in s) {
      clock.advance(s.advanceMs);
      clock.tick();
    } else {
      clock.tryRun(s.command);
    }
    check(clock, clock.view());
  }
  return clock;
}

/** Plays the steps (without a start) and checks that every refused command left the state as it was. */
export function expectRefusalsChangeNothing(input: CreateSessionInput, steps: readonly Step[]): void {
  const clock = new EngineDriver(input);
  for (const s of steps) {
    if ('advanceMs' in s) {
      clock.advance(s.advanceMs);
      continue;
    }
    clock.tick();
    const before = structuredClone(clock.state);
    try {
      clock.run(s.command);
    } catch (error) {
      if (!(error instanceof SyncKairosError)) throw error;
      expect(clock.state, `a refused ${s.command.type}`).toEqual(before);
    }
  }
}

/** The refusal `run` throws; fails the test when it throws nothing, rethrows anything else. */
export function refusalOf(run: () => unknown): SyncKairosError {
  try {
    run();
  } catch (error) {
    if (error instanceof SyncKairosError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}
