// The SDK draws every clock face from the last state it has, with the engine's own formulas: at
// any later instant it shows what the server would send then, for every time control.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  groupFace,
  participantFace,
  participantRemainingMs,
  phaseAt,
  sessionRemainingMs,
} from '@synckairos/client';
import type { SessionCommand, SessionView } from '../../src/types/session.js';
import { EngineDriver, players, T0, type Step } from '../helpers/engineDriver.js';
import { controlledSession } from '../helpers/timeControls.js';

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 6_000 }).map((advanceMs) => ({ advanceMs })) },
  { weight: 3, arbitrary: fc.constant({ command: { type: 'switch' } as SessionCommand }) },
  { weight: 1, arbitrary: fc.constant({ command: { type: 'pause' } as SessionCommand }) },
  { weight: 1, arbitrary: fc.constant({ command: { type: 'resume' } as SessionCommand }) },
);

/** A view's clock-face fields only (the SDK does not recompute time used). */
function faceOf(face: object): Record<string, unknown> {
  const {
    participant_id: _p,
    group_id: _g,
    time_used_ms: _u,
    cycle_count: _c,
    is_active: _a,
    has_expired: _e,
    time_control: _t,
    running: _r,
    ...fields
  } = face as Record<string, unknown>;
  return fields;
}

describe('clockFace computed locally', () => {
  it('shows what the server would send at any later instant before the next deadline', () => {
    fc.assert(
      fc.property(
        controlledSession,
        fc.array(step, { maxLength: 20 }),
        fc.nat(),
        (input, steps, laterSeed) => {
          const clock = new EngineDriver(input);
          clock.run({ type: 'start' });
          for (const s of steps) {
            if ('advanceMs' in s) clock.advance(s.advanceMs);
            else clock.tryRun(s.command);
          }
          // What the SDK has: a snapshot, sent over JSON.
          const snapshot = JSON.parse(JSON.stringify(clock.view())) as SessionView;
          const horizonMs = snapshot.deadline_at === null ? 10_000 : snapshot.deadline_at - clock.nowMs;
          if (horizonMs <= 0) return;
          clock.advance(laterSeed % horizonMs);
          const server = clock.view();
          for (const p of server.participants) {
            expect(
              faceOf(participantFace(snapshot, p.participant_id, clock.nowMs)!),
              p.participant_id,
            ).toEqual(faceOf(p));
          }
          for (const g of server.groups ?? []) {
            expect(faceOf(groupFace(snapshot, g.group_id, clock.nowMs)!), g.group_id).toEqual(faceOf(g));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a byo-yomi clock runs through its periods on the client alone', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_participant',
      participants: players('w', 'b'),
      time_control: { type: 'byoyomi', initial_ms: 1_000, period_ms: 500, periods: 3 },
    });
    const snapshot = clock.run({ type: 'start' });
    expect(participantFace(snapshot, 'w', T0 + 1_700)).toEqual({
      time_remaining_ms: 0,
      periods_left: 2,
      period_remaining_ms: 300,
      running: true,
    });
    expect(participantFace(snapshot, 'b', T0 + 1_700)).toEqual({
      time_remaining_ms: 1_000,
      periods_left: 3,
      period_remaining_ms: 500,
      running: false,
    });
  });

  it('a waiting hourglass clock runs up', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_participant',
      participants: players('w', 'b'),
      time_control: { type: 'hourglass', initial_ms: 1_000 },
    });
    const snapshot = clock.run({ type: 'start' });
    expect(participantFace(snapshot, 'b', T0 + 400)).toEqual({ time_remaining_ms: 1_400, running: true });
    // The flag falls at 1,000: the sum stays 2,000.
    expect(participantFace(snapshot, 'b', T0 + 5_000)).toEqual({ time_remaining_ms: 2_000, running: true });
  });

  it('runs every running clock of a concurrent session, and counts on below zero in overtime', () => {
    fc.assert(
      fc.property(
        fc.subarray(['a', 'b', 'c']),
        fc.integer({ min: 0, max: 4_000 }),
        fc.integer({ min: 0, max: 6_000 }),
        (pausedIds, beforeMs, laterMs) => {
          const room = new EngineDriver({
            sync_mode: 'per_participant',
            concurrent: true,
            on_expire: 'overtime',
            participants: [
              { participant_id: 'a', total_time_ms: 2_000 },
              { participant_id: 'b', total_time_ms: 3_000 },
              { participant_id: 'c', total_time_ms: 9_000 },
            ],
          });
          room.run({ type: 'start' });
          room.advance(beforeMs).tick();
          for (const id of pausedIds) room.tryRun({ type: 'pause', participantId: id });
          const snapshot = JSON.parse(JSON.stringify(room.view())) as SessionView;
          room.advance(laterMs);
          for (const p of room.view().participants) {
            expect(participantRemainingMs(snapshot, p.participant_id, room.nowMs), p.participant_id).toBe(
              p.time_remaining_ms,
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("names every clock's phase at any later instant as the server would, through overtime", () => {
    fc.assert(
      fc.property(
        fc.constantFrom('overtime', 'end_session'),
        fc.boolean(),
        fc.array(step, { maxLength: 12 }),
        fc.integer({ min: 0, max: 8_000 }),
        (onExpire, concurrent, steps, laterMs) => {
          const clock = new EngineDriver({
            sync_mode: 'per_participant',
            ...(concurrent ? { concurrent: true } : {}),
            on_expire: onExpire as 'overtime' | 'end_session',
            participants: [
              { participant_id: 'a', total_time_ms: 2_000 },
              { participant_id: 'b', total_time_ms: 3_000 },
            ],
            phases: [
              { name: 'warning', remaining_ms: 1_500 },
              { name: 'critical', remaining_ms: 500 },
            ],
          });
          clock.run({ type: 'start' });
          for (const s of steps) {
            if ('advanceMs' in s) clock.advance(s.advanceMs % 1_000).tick();
            else clock.tryRun(s.command);
          }
          const snapshot = JSON.parse(JSON.stringify(clock.view())) as SessionView;
          clock.advance(laterMs);
          for (const p of clock.view().participants) {
            const remaining = participantRemainingMs(snapshot, p.participant_id, clock.nowMs);
            expect(phaseAt(snapshot, remaining), p.participant_id).toBe(p.phase);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is in a phase at remaining = its threshold exactly, and in overtime at zero', () => {
    const clock = new EngineDriver({
      sync_mode: 'per_participant',
      on_expire: 'overtime',
      participants: [{ participant_id: 'a', total_time_ms: 2_000 }, { participant_id: 'b' }],
      total_time_ms: 2_000,
      phases: [
        { name: 'warning', remaining_ms: 1_500 },
        { name: 'critical', remaining_ms: 500 },
      ],
    });
    const snapshot = clock.run({ type: 'start' });
    const phaseOfA = (atMs: number) => phaseAt(snapshot, participantRemainingMs(snapshot, 'a', T0 + atMs));
    expect([499, 500, 1_499, 1_500, 1_999, 2_000, 2_500].map(phaseOfA)).toEqual([
      null,
      'warning',
      'warning',
      'critical',
      'critical',
      'overtime',
      'overtime',
    ]);
    for (const atMs of [499, 500, 1_500, 2_000]) {
      clock.advance(T0 + atMs - clock.nowMs);
      expect(clock.view().participants[0]!.phase, `at ${atMs}`).toBe(phaseOfA(atMs));
    }
  });

  it('shows a global countdown in overtime below zero', () => {
    const clock = new EngineDriver({
      sync_mode: 'global',
      participants: players('stage'),
      total_time_ms: 1_000,
      on_expire: 'overtime',
    });
    clock.run({ type: 'start' });
    const snapshot = JSON.parse(JSON.stringify(clock.view())) as SessionView;
    expect(sessionRemainingMs(snapshot, T0 + 1_250)).toBe(-250);
    expect(participantRemainingMs(snapshot, 'stage', T0 + 1_250)).toBe(-250);
  });
});
