// The disconnect policy's engine side: what a gone participant means for the session, and the
// server's pause, claimed once through the compare-and-set however many instances race for it.
import { afterEach, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../../src/api/openapi.js';
import { disconnectOutcome } from '../../../src/engine/disconnect.js';
import { SyncEngine } from '../../../src/engine/SyncEngine.js';
import { MemoryStateStore } from '../../../src/state/MemoryStateStore.js';
import type { CreateSessionInput } from '../../../src/types/session.js';
import { EngineDriver, T0, refusalOf } from '../../helpers/engineDriver.js';

const policy = { grace_ms: 10_000, action: 'pause' } as const;

function duel(extra: Partial<CreateSessionInput> = {}): CreateSessionInput {
  return {
    sync_mode: 'per_participant',
    total_time_ms: 60_000,
    participants: [{ participant_id: 'alice' }, { participant_id: 'bob' }],
    on_disconnect: policy,
    ...extra,
  };
}

const stores: MemoryStateStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

function instances(count: number): {
  clock: { nowMs: () => number; advance(ms: number): void };
  engines: SyncEngine[];
} {
  const store = new MemoryStateStore();
  stores.push(store);
  let nowMs = T0;
  const clock = { nowMs: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
  return { clock, engines: Array.from({ length: count }, () => new SyncEngine({ store, clock })) };
}

describe('disconnectOutcome', () => {
  it('pauses the turn holder of a running session, waits for the others, drops when paused', () => {
    const session = new EngineDriver(duel());
    expect(disconnectOutcome(session.state, 'alice')).toBe('wait');
    session.run({ type: 'start' });
    expect(disconnectOutcome(session.state, 'alice')).toBe('pause');
    expect(disconnectOutcome(session.state, 'bob')).toBe('wait');
    expect(disconnectOutcome(session.state, 'nobody')).toBe('drop');
    session.run({ type: 'pause' });
    expect(disconnectOutcome(session.state, 'alice')).toBe('drop');
  });

  it('does nothing for a session without the policy', () => {
    const session = new EngineDriver(duel({ on_disconnect: undefined }));
    session.run({ type: 'start' });
    expect(disconnectOutcome(session.state, 'alice')).toBe('drop');
  });

  it("concurrent: the participant's own clock decides", () => {
    const room = new EngineDriver(duel({ concurrent: true }));
    room.run({ type: 'start' });
    expect(disconnectOutcome(room.state, 'bob')).toBe('pause');
    room.run({ type: 'pause', participantId: 'bob' });
    expect(disconnectOutcome(room.state, 'bob')).toBe('drop');
    expect(disconnectOutcome(room.state, 'alice')).toBe('pause');
  });
});

describe('SyncEngine.pauseDisconnected', () => {
  it('pauses the turn holder once with the reason in the state; the racing instance finds it paused', async () => {
    const { clock, engines } = instances(2);
    const [a, b] = engines as [SyncEngine, SyncEngine];
    await a.createSession({ ...duel(), session_id: 'duel' });
    await a.execute('duel', { type: 'start' });
    clock.advance(5000);
    const [first, second] = await Promise.all([
      a.pauseDisconnected('duel', 'alice'),
      b.pauseDisconnected('duel', 'alice'),
    ]);
    expect([first.outcome, second.outcome].sort()).toEqual(['drop', 'pause']);
    const view = await a.getSession('duel');
    expect(view).toMatchObject({
      status: 'paused',
      version: 3,
      event: 'paused',
      pause_reason: 'disconnected',
      pause_participant_id: 'alice',
    });
    expect([...first.events, ...second.events].map((e) => [e.type, e.actor])).toEqual([['paused', 'server']]);
    // The next version says nothing of it: a resume is anybody's act.
    const resumed = await a.execute('duel', { type: 'resume' });
    expect(resumed.pause_reason).toBeUndefined();
    expect(resumed.pause_participant_id).toBeUndefined();
  });

  it('waits while another participant holds the turn, and pauses when the turn comes', async () => {
    const { engines } = instances(1);
    const [engine] = engines as [SyncEngine];
    await engine.createSession({ ...duel(), session_id: 'duel' });
    await engine.execute('duel', { type: 'start' });
    expect((await engine.pauseDisconnected('duel', 'bob')).outcome).toBe('wait');
    expect((await engine.getSession('duel')).version).toBe(2);
    await engine.execute('duel', { type: 'switch' });
    expect((await engine.pauseDisconnected('duel', 'bob')).outcome).toBe('pause');
    expect(await engine.getSession('duel')).toMatchObject({ status: 'paused', pause_participant_id: 'bob' });
  });

  it("concurrent: pauses only that participant's clock", async () => {
    const { engines } = instances(1);
    const [engine] = engines as [SyncEngine];
    await engine.createSession({ ...duel({ concurrent: true }), session_id: 'room' });
    await engine.execute('room', { type: 'start' });
    expect((await engine.pauseDisconnected('room', 'bob')).outcome).toBe('pause');
    const view = await engine.getSession('room');
    expect(view.status).toBe('running');
    expect(view.participants.map((p) => [p.participant_id, p.status])).toEqual([
      ['alice', 'running'],
      ['bob', 'paused'],
    ]);
    expect(view).toMatchObject({ pause_reason: 'disconnected', pause_participant_id: 'bob' });
  });

  it('no client command carries a reason, and a refused one changes nothing', async () => {
    const { engines } = instances(1);
    const [engine] = engines as [SyncEngine];
    await engine.createSession({ ...duel(), session_id: 'duel' });
    await engine.execute('duel', { type: 'start' });
    const error = await engine
      .execute('duel', { type: 'pause', systemPause: { reason: 'disconnected', participantId: 'alice' } })
      .catch((err: unknown) => err);
    expect(
      refusalOf(() => {
        throw error;
      }).code,
    ).toBe('VALIDATION_ERROR');
    expect(await engine.getSession('duel')).toMatchObject({ status: 'running', version: 2 });
  });

  it('keeps the policy through a reset', async () => {
    const { engines } = instances(1);
    const [engine] = engines as [SyncEngine];
    await engine.createSession({ ...duel(), session_id: 'duel' });
    const reset = await engine.execute('duel', { type: 'reset' });
    expect(reset.on_disconnect).toEqual(policy);
  });
});

describe('the OpenAPI document', () => {
  it('describes on_disconnect on create, and pause_reason with pause_participant_id on the state', () => {
    const document = buildOpenApiDocument({ bodyLimitBytes: 65_536 });
    const schemas = (
      document.components as { schemas: Record<string, { properties?: Record<string, unknown> }> }
    ).schemas;
    expect(schemas.CreateSessionRequest?.properties?.on_disconnect).toMatchObject({
      properties: {
        grace_ms: { minimum: 1000, maximum: 3_600_000 },
        action: { enum: ['pause'] },
      },
    });
    expect(schemas.SessionView?.properties).toMatchObject({
      on_disconnect: expect.any(Object),
      pause_reason: { enum: ['disconnected'] },
      pause_participant_id: expect.any(Object),
    });
  });
});
