// Commands start from the state the instance last wrote or was sent, without reading the
// store; a stale one must never decide an answer. Two engines on one store play two instances.
import { afterEach, describe, expect, it } from 'vitest';
import { SyncEngine } from '../../../src/engine/SyncEngine.js';
import { MemoryStateStore } from '../../../src/state/MemoryStateStore.js';
import { storeUnavailable } from '../../../src/types/errors.js';
import type { SessionState } from '../../../src/types/session.js';
import type { SessionWrite, WriteResult } from '../../../src/types/store.js';

/**
 * The memory store, counting the reads the engine makes and logging its calls; `loseNextAnswer`
 * makes the next write land and then fail as a timed-out Redis write does, its outcome unknown.
 */
class CountingStore extends MemoryStateStore {
  reads = 0;
  calls: Array<'get' | 'save'> = [];
  loseNextAnswer = false;

  override async get(sessionId: string): Promise<SessionState | null> {
    this.reads++;
    this.calls.push('get');
    return super.get(sessionId);
  }

  override async save(write: SessionWrite): Promise<WriteResult> {
    this.calls.push('save');
    const result = await super.save(write);
    if (!this.loseNextAnswer) return result;
    this.loseNextAnswer = false;
    throw storeUnavailable('memory', new Error('no answer'));
  }
}

const stores: CountingStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

async function twoInstances(): Promise<{ store: CountingStore; a: SyncEngine; b: SyncEngine }> {
  const store = new CountingStore();
  stores.push(store);
  const clock = { nowMs: () => 1_000_000 };
  const a = new SyncEngine({ store, clock });
  const b = new SyncEngine({ store, clock });
  await a.createSession({
    session_id: 'game',
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
    total_time_ms: 60_000,
  });
  await a.execute('game', { type: 'start' });
  return { store, a, b };
}

describe('SyncEngine: commands from the last known state', () => {
  it('a command after this instance’s own write does not read the store', async () => {
    const { store, a } = await twoInstances();
    const readsBefore = store.reads;
    const view = await a.execute('game', { type: 'switch' }, { expectedVersion: 2 });
    expect(view.version).toBe(3);
    expect(store.reads).toBe(readsBefore);
  });

  it('a remembered state that another instance moved on is never the answer', async () => {
    const { store, a, b } = await twoInstances();
    await b.execute('game', { type: 'switch' });
    await b.execute('game', { type: 'switch' });
    // a remembers version 2; the client knows the real version 4 and must not get a conflict.
    const view = await a.execute('game', { type: 'switch' }, { expectedVersion: 4 });
    expect(view).toMatchObject({ version: 5, active_participant_id: 'b' });
    expect((await store.get('game'))?.version).toBe(5);
  });

  it('a conflict or a refusal is judged on the stored state, not the remembered one', async () => {
    const { a, b } = await twoInstances();
    await b.execute('game', { type: 'pause' });
    // a remembers "running"; the store says "paused": resume is right, and switch is refused.
    await expect(a.execute('game', { type: 'switch' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect((await a.execute('game', { type: 'resume' })).version).toBe(4);
    await expect(a.execute('game', { type: 'switch' }, { expectedVersion: 3 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
      details: { current_version: 4 },
    });
  });

  it('after a write whose outcome is unknown, the next command reads the store before writing', async () => {
    const { store, a } = await twoInstances();
    store.loseNextAnswer = true;
    await expect(a.execute('game', { type: 'switch' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.calls = [];
    // The lost write did land (version 3): the next switch starts from it, not from version 2.
    expect(await a.execute('game', { type: 'switch' })).toMatchObject({
      version: 4,
      active_participant_id: 'w',
    });
    expect(store.calls).toEqual(['get', 'save']);
  });

  it('a session another instance deleted is not found, whatever this one remembers', async () => {
    const { a, b } = await twoInstances();
    await b.deleteSession('game');
    await expect(a.execute('game', { type: 'switch' })).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('a state sent by another instance is used when newer, and ignored when older', async () => {
    const { store, a, b } = await twoInstances();
    await b.execute('game', { type: 'switch' });
    const latest = await store.get('game');
    a.noteState(latest!);
    a.noteState({ ...latest!, version: 1 });
    const readsBefore = store.reads;
    expect((await a.execute('game', { type: 'switch' }, { expectedVersion: 3 })).version).toBe(4);
    expect(store.reads).toBe(readsBefore);
  });
});
