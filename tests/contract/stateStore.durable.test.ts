// What the embedded store's durable log (LMDB in a data folder) adds to the contract (which it
// passes too, in stateStore.memory.test.ts): a store reopened on the folder starts where the last
// one stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbSessionLog } from '../../src/state/LmdbSessionLog.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { sessionStateFixture } from '../helpers/fixtures.js';

const folders: string[] = [];

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'synckairos-state-'));
  folders.push(dir);
  return dir;
}

async function openStore(dir: string): Promise<MemoryStateStore> {
  return new MemoryStateStore({ log: await LmdbSessionLog.open(dir), sweepIntervalMs: 50 });
}

describe('the durable log', () => {
  afterEach(() => {
    for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('a store reopened on the folder serves every session at its last written version, deadlines included', async () => {
    const dir = dataDir();
    const first = await openStore(dir);
    const a = sessionStateFixture({ sessionId: 'a' });
    const b = sessionStateFixture({ sessionId: 'b' });
    const gone = sessionStateFixture({ sessionId: 'gone' });
    await first.save({ expectedVersion: 0, previousStatus: null, state: a, deadlineAtMs: null, ttlMs: null });
    await first.save({
      expectedVersion: 1,
      previousStatus: 'pending',
      state: { ...a, version: 2 },
      deadlineAtMs: 5_000,
      ttlMs: null,
    });
    await first.save({
      expectedVersion: 0,
      previousStatus: null,
      state: b,
      deadlineAtMs: 9_000,
      ttlMs: 3_600_000,
    });
    await first.save({
      expectedVersion: 0,
      previousStatus: null,
      state: gone,
      deadlineAtMs: 1_000,
      ttlMs: null,
    });
    await first.remove(gone, 1);
    await first.close();

    const second = await openStore(dir);
    expect(second.restoredCount).toBe(2);
    expect(await second.get('a')).toEqual({ ...a, version: 2 });
    expect(await second.get('b')).toEqual(b);
    expect(await second.get('gone')).toBeNull();
    expect(await second.deadlinesUntil(10_000, 10)).toEqual([
      { sessionId: 'a', deadlineAtMs: 5_000 },
      { sessionId: 'b', deadlineAtMs: 9_000 },
    ]);
    // The list's indexes are rebuilt from the log too.
    expect(await second.list({ limit: 10 })).toEqual([{ ...a, version: 2 }, b]);
    expect(await second.list({ status: 'pending', afterId: 'a', limit: 10 })).toEqual([b]);
    // The compare-and-set goes on from the restored version.
    expect(
      await second.save({
        expectedVersion: 1,
        previousStatus: 'pending',
        state: { ...a, version: 2 },
        deadlineAtMs: null,
        ttlMs: null,
      }),
    ).toEqual({
      ok: false,
      reason: 'version_conflict',
      currentVersion: 2,
    });
    await second.close();
  });

  it('a folder already open is refused until its store is closed', async () => {
    const dir = dataDir();
    const first = await openStore(dir);
    await expect(LmdbSessionLog.open(dir)).rejects.toThrow(/session store .* already open/);
    await first.close();
    const second = await openStore(dir);
    await second.close();
  });

  it('a session whose TTL ran out while the store was closed is not restored', async () => {
    const dir = dataDir();
    const first = await openStore(dir);
    const brief = sessionStateFixture({ sessionId: 'brief' });
    await first.save({
      expectedVersion: 0,
      previousStatus: null,
      state: brief,
      deadlineAtMs: null,
      ttlMs: 30,
    });
    await first.close();
    await new Promise((resolve) => setTimeout(resolve, 60));

    const second = await openStore(dir);
    expect(second.restoredCount).toBe(0);
    expect(await second.get('brief')).toBeNull();
    await second.close();
  });

  it('writes of one turn resolve once they are in the log, before they publish', async () => {
    const dir = dataDir();
    const log = await LmdbSessionLog.open(dir);
    const order: string[] = [];
    const put = log.put.bind(log);
    log.put = async (sessionId, session) => {
      await put(sessionId, session);
      order.push(`stored ${sessionId}`);
    };
    const store = new MemoryStateStore({ log, publish: (sessionId) => order.push(`published ${sessionId}`) });
    await Promise.all(
      ['x', 'y'].map((id) =>
        store.save({
          expectedVersion: 0,
          previousStatus: null,
          state: sessionStateFixture({ sessionId: id }),
          deadlineAtMs: null,
          ttlMs: null,
        }),
      ),
    );
    expect(order).toEqual(['stored x', 'stored y', 'published x', 'published y']);
    await store.close();
  });

  it("a change's audit records wait in the outbox beside it until acknowledged, across a reopen", async () => {
    const dir = dataDir();
    const first = await openStore(dir);
    const a = sessionStateFixture({ sessionId: 'a' });
    await first.save({
      expectedVersion: 0,
      previousStatus: null,
      state: a,
      deadlineAtMs: null,
      ttlMs: null,
      auditRecords: ['a1'],
    });
    await first.save({
      expectedVersion: 1,
      previousStatus: a.status,
      state: { ...a, version: 2 },
      deadlineAtMs: null,
      ttlMs: null,
      auditRecords: ['a2-expired', 'a2-switched'],
    });
    await first.remove({ ...a, version: 2 }, 2, ['a3-removed']);
    // The store failed its compare-and-set: nothing of it reaches the outbox.
    await first.save({
      expectedVersion: 7,
      previousStatus: a.status,
      state: a,
      deadlineAtMs: null,
      ttlMs: null,
      auditRecords: ['lost'],
    });
    await first.close();

    // Killed before the audit store had any of them: the next start finds them all, in order.
    const log = await LmdbSessionLog.open(dir);
    expect(log.pending()).toEqual(['a1', 'a2-expired', 'a2-switched', 'a3-removed']);
    log.ack(['a2-expired', 'a1']);
    const b = sessionStateFixture({ sessionId: 'b' });
    await log.put('b', { stateJson: JSON.stringify(b), deadlineAtMs: null, expiresAtMs: null }, ['b1']);
    await log.close();

    const again = await LmdbSessionLog.open(dir);
    expect(again.pending()).toEqual(['a2-switched', 'a3-removed', 'b1']);
    again.ack(again.pending());
    await again.close();
    const last = await LmdbSessionLog.open(dir);
    expect(last.pending()).toEqual([]);
    await last.close();
  });
});
