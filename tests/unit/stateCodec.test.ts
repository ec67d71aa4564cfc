// The stores keep states without their default fields; every state must come back exactly.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSessionState } from '../../src/engine/createSession.js';
import { decodeState, encodeState } from '../../src/state/stateCodec.js';
import type { SessionCommand, SyncMode } from '../../src/types/session.js';
import { EngineDriver } from '../helpers/engineDriver.js';
import { sessionStateFixture } from '../helpers/fixtures.js';
import { controlledSession } from '../helpers/timeControls.js';

const MODES: Array<{ sync_mode: SyncMode; extra: Record<string, unknown> }> = [
  { sync_mode: 'per_participant', extra: { total_time_ms: 5_000, increment_ms: 500 } },
  { sync_mode: 'per_cycle', extra: { time_per_cycle_ms: 3_000, on_expire: 'auto_advance' } },
  {
    sync_mode: 'per_cycle',
    extra: {
      cycles: [
        { label: 'Welcome', duration_ms: 2_000, participant_id: 'b' },
        { label: 'Talk', duration_ms: 3_000 },
        { label: 'Close', duration_ms: 1_000 },
      ],
      on_expire: 'overtime',
    },
  },
  { sync_mode: 'per_group', extra: { total_time_ms: 4_000 } },
  { sync_mode: 'global', extra: { total_time_ms: 6_000 } },
  { sync_mode: 'count_up', extra: { max_time_ms: 9_000 } },
];

const commands: SessionCommand[] = [
  { type: 'switch' },
  { type: 'pause' },
  { type: 'resume' },
  { type: 'complete' },
  { type: 'adjust', participantId: 'b', deltaMs: 700 },
];

/** Starts the session and plays the steps; every state on the way comes back from the codec exactly. */
function expectEveryStateRoundTrips(clock: EngineDriver, steps: Array<[number, SessionCommand]>): void {
  clock.run({ type: 'start' });
  for (const [advanceMs, command] of steps) {
    clock.advance(advanceMs);
    clock.tryRun(command);
    expect(decodeState(encodeState(clock.state))).toStrictEqual(clock.state);
  }
}

describe('state codec', () => {
  it('gives back every state the engine makes in every mode, exactly', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MODES),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4_000 }), fc.constantFrom(...commands)), {
          maxLength: 25,
        }),
        ({ sync_mode, extra }, steps) => {
          const participants = ['a', 'b', 'c'].map((participant_id, i) => ({
            participant_id,
            ...(sync_mode === 'per_group' ? { group_id: `g${i % 2}` } : {}),
          }));
          expectEveryStateRoundTrips(new EngineDriver({ sync_mode, participants, ...extra } as never), steps);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives back every state the engine makes under every time control, exactly', () => {
    fc.assert(
      fc.property(
        controlledSession,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4_000 }), fc.constantFrom(...commands)), {
          maxLength: 25,
        }),
        (input, steps) => expectEveryStateRoundTrips(new EngineDriver(input), steps),
      ),
      { numRuns: 200 },
    );
  });

  it('keeps metadata exactly, nulls and empty lists inside it included', () => {
    const state = createSessionState(
      {
        sync_mode: 'global',
        participants: [{ participant_id: 'a' }],
        total_time_ms: 1_000,
        metadata: { note: null, tags: [], zero: 0, nested: { gone: null } },
      },
      { sessionId: 'm', nowMs: 1 },
    );
    expect(decodeState(encodeState(state))).toStrictEqual(state);
  });

  it('leaves the defaults out of what is stored', () => {
    const json = encodeState(sessionStateFixture());
    expect(json).not.toContain('null');
    expect(json).not.toContain('[]');
    expect(json.length).toBeLessThan(JSON.stringify(sessionStateFixture()).length);
  });

  it('stores a fresh participant, and a plain config, without their zero counters and default policy', () => {
    const state = sessionStateFixture();
    const stored = JSON.parse(encodeState(state)) as {
      config: Record<string, unknown>;
      participants: Record<string, unknown>[];
    };
    expect(state.config).toMatchObject({ incrementMs: 0, onExpire: 'end_session' });
    expect(stored.config).not.toHaveProperty('incrementMs');
    expect(stored.config).not.toHaveProperty('onExpire');
    const fresh = state.participants.findIndex((p) => p.usedMs === 0 && p.cycleCount === 0 && !p.hasExpired);
    expect(fresh).toBeGreaterThanOrEqual(0);
    expect(Object.keys(stored.participants[fresh]!).sort()).toEqual(
      Object.keys(state.participants[fresh]!)
        .filter((key) => !['groupId', 'usedMs', 'cycleCount', 'hasExpired'].includes(key))
        .sort(),
    );
    expect(decodeState(encodeState(state))).toStrictEqual(state);
  });
});
