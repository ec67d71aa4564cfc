// concurrent sessions: every participant's (group's) clock runs at once from start, each paused,
// resumed, completed or adjusted on its own; each running out is its own participant_expired.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SyncKairosError } from '../../../src/types/errors.js';
import type { CreateSessionInput, SessionCommand } from '../../../src/types/session.js';
import { EngineDriver, refusalOf, T0 } from '../../helpers/engineDriver.js';

const MINUTE = 60_000;

/** Thirty students with 60 minutes each; s3, s7 and s11 have 25% extra time. */
function examRoom(): CreateSessionInput {
  const extra = new Set(['s3', 's7', 's11']);
  return {
    sync_mode: 'per_participant',
    concurrent: true,
    total_time_ms: 60 * MINUTE,
    participants: Array.from({ length: 30 }, (_, i) => {
      const participant_id = `s${i}`;
      return extra.has(participant_id) ? { participant_id, total_time_ms: 75 * MINUTE } : { participant_id };
    }),
  };
}

describe('a concurrent exam room', () => {
  it('runs every clock from start, each expiring on its own at its own deadline', () => {
    const room = new EngineDriver(examRoom());
    expect(room.view().participants.every((p) => p.status === 'pending')).toBe(true);
    room.run({ type: 'start' });
    room.advance(10 * MINUTE);
    const view = room.tick();
    expect(view.status).toBe('running');
    expect(view.concurrent).toBe(true);
    expect(view.participants.every((p) => p.status === 'running' && p.is_active)).toBe(true);
    expect(room.remaining('s0')).toBe(50 * MINUTE);
    expect(room.remaining('s3')).toBe(65 * MINUTE);
    expect(view.deadline_at).toBe(T0 + 60 * MINUTE);

    room.advance(50 * MINUTE).tick();
    const expired = room.events.filter((e) => e.type === 'participant_expired');
    expect(expired.map((e) => e.participantId)).toHaveLength(27);
    expect(new Set(expired.map((e) => e.atMs))).toEqual(new Set([T0 + 60 * MINUTE]));
    expect(room.participant('s3').status).toBe('running');
    expect(room.participant('s0')).toMatchObject({
      status: 'expired',
      has_expired: true,
      time_remaining_ms: 0,
    });
    expect(room.view().status).toBe('running');

    room.advance(15 * MINUTE).tick();
    const last = room.events.slice(-3);
    expect(last.map((e) => [e.type, e.participantId, e.atMs])).toEqual([
      ['participant_expired', 's3', T0 + 75 * MINUTE],
      ['participant_expired', 's7', T0 + 75 * MINUTE],
      ['expired', 's11', T0 + 75 * MINUTE],
    ]);
    expect(room.view().status).toBe('expired');
  });

  it("pauses, resumes and extends one student's clock without moving anyone else's", () => {
    const room = new EngineDriver(examRoom());
    room.run({ type: 'start' });
    room.advance(5 * MINUTE);
    const paused = room.run({ type: 'pause', participantId: 's1' });
    expect(paused.status).toBe('running');
    expect(paused.event).toBe('paused');
    room.advance(10 * MINUTE);
    expect(room.participant('s1')).toMatchObject({ status: 'paused', time_remaining_ms: 55 * MINUTE });
    expect(room.remaining('s2')).toBe(45 * MINUTE);
    room.run({ type: 'resume', participantId: 's1' });
    room.run({ type: 'adjust', participantId: 's2', deltaMs: 5 * MINUTE });
    room.advance(MINUTE);
    expect(room.remaining('s1')).toBe(54 * MINUTE);
    expect(room.remaining('s2')).toBe(49 * MINUTE);
    expect(room.remaining('s0')).toBe(44 * MINUTE);
  });

  it('acts on every clock without an id, and ends completed when the last clock is handed in', () => {
    const room = new EngineDriver({
      ...examRoom(),
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
    });
    room.run({ type: 'start' });
    room.advance(MINUTE);
    room.run({ type: 'pause', participantId: 'a' });
    expect(room.run({ type: 'pause' }).status).toBe('paused');
    room.advance(MINUTE);
    const resumed = room.run({ type: 'resume' });
    expect(resumed.participants.map((p) => p.status)).toEqual(['running', 'running']);
    room.run({ type: 'adjust', deltaMs: MINUTE });
    expect(room.remaining('a')).toBe(60 * MINUTE);
    room.run({ type: 'complete', participantId: 'a' });
    expect(room.view().status).toBe('running');
    const done = room.run({ type: 'complete', participantId: 'b' });
    expect(done.status).toBe('completed');
    expect(done.participants.map((p) => p.status)).toEqual(['completed', 'completed']);
  });

  it('refuses a switch with 409 INVALID_STATE and changes nothing', () => {
    const room = new EngineDriver(examRoom());
    room.run({ type: 'start' });
    const before = structuredClone(room.state);
    const error = refusalOf(() => room.run({ type: 'switch' }));
    expect([error.code, error.status]).toEqual(['INVALID_STATE', 409]);
    expect(room.state).toEqual(before);
  });

  it('runs group clocks at once in breakout rooms', () => {
    const rooms = new EngineDriver({
      sync_mode: 'per_group',
      concurrent: true,
      total_time_ms: 10 * MINUTE,
      groups: [{ group_id: 'g2', total_time_ms: 20 * MINUTE }],
      participants: [
        { participant_id: 'a', group_id: 'g1' },
        { participant_id: 'b', group_id: 'g1' },
        { participant_id: 'c', group_id: 'g2' },
      ],
    });
    rooms.run({ type: 'start' });
    rooms.advance(MINUTE);
    rooms.run({ type: 'pause', groupId: 'g2' });
    rooms.advance(MINUTE);
    const view = rooms.view();
    expect(view.groups?.map((g) => [g.group_id, g.status, g.time_remaining_ms])).toEqual([
      ['g1', 'running', 8 * MINUTE],
      ['g2', 'paused', 19 * MINUTE],
    ]);
    expect(view.participants.map((p) => p.status)).toEqual(['running', 'running', 'paused']);
    rooms.advance(8 * MINUTE).tick();
    expect(rooms.events.at(-1)).toMatchObject({ type: 'participant_expired', atMs: T0 + 10 * MINUTE });
    expect(rooms.view().groups?.[0]?.status).toBe('expired');
    expect(rooms.view().status).toBe('paused');
  });
});

describe('concurrent properties', () => {
  const ids = ['p0', 'p1', 'p2'];
  const command: fc.Arbitrary<SessionCommand> = fc.oneof(
    fc.constantFrom(...ids).map((participantId) => ({ type: 'pause' as const, participantId })),
    fc.constantFrom(...ids).map((participantId) => ({ type: 'resume' as const, participantId })),
    fc.constantFrom(...ids).map((participantId) => ({ type: 'complete' as const, participantId })),
    fc
      .record({ participantId: fc.constantFrom(...ids), deltaMs: fc.integer({ min: -5_000, max: 5_000 }) })
      .map((a) => ({ type: 'adjust' as const, ...a })),
  );
  const steps = fc.array(fc.record({ advanceMs: fc.integer({ min: 0, max: 3_000 }), command }), {
    maxLength: 25,
  });

  it("one participant's command never moves another's clock", () => {
    fc.assert(
      fc.property(steps, (plan) => {
        const room = new EngineDriver({
          sync_mode: 'per_participant',
          concurrent: true,
          total_time_ms: 20_000,
          participants: ids.map((participant_id) => ({ participant_id })),
        });
        room.run({ type: 'start' });
        for (const { advanceMs, command: c } of plan) {
          room.advance(advanceMs);
          room.tick();
          const before = room.view().participants;
          try {
            room.run(c);
          } catch (error) {
            if (!(error instanceof SyncKairosError)) throw error;
            continue;
          }
          const after = room.view().participants;
          const target = 'participantId' in c ? c.participantId : undefined;
          after.forEach((p, i) => {
            if (p.participant_id !== target) expect(p).toEqual(before[i]);
          });
        }
      }),
      { numRuns: 200 },
    );
  });
});
