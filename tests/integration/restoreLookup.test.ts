// Distributed mode asks the audit trail about every id Redis does not hold: how often it asks.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../src/audit/AuditStore.js';
import { pgliteClient } from '../../src/audit/sqlClient.js';
import { recoverFromAudit } from '../../src/state/restore.js';
import { auditEvent } from '../contract/auditStore.contract.js';
import { freshPgliteDataDir } from '../helpers/postgresServer.js';

const silent = { warn: () => {} };

describe('recoverFromAudit: lookups of ids Redis does not hold', () => {
  let store: AuditStore;
  let removeData: () => Promise<void>;
  /** The real store, with its lastState calls counted per id. */
  const queries = new Map<string, number>();
  const counted = {
    lastState: (sessionId: string) => {
      queries.set(sessionId, (queries.get(sessionId) ?? 0) + 1);
      return store.lastState(sessionId);
    },
  };

  beforeAll(async () => {
    const data = await freshPgliteDataDir();
    removeData = data.remove;
    store = new AuditStore(await pgliteClient(data.dir), { name: 'pglite' });
    await store.migrate();
  });

  afterAll(async () => {
    await store.close();
    await removeData();
  });

  it('asks once for an unknown id, however often and however concurrently it is read', async () => {
    const recover = recoverFromAudit(counted, silent, { notLiveTtlMs: 60_000 });
    const id = `never-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 5 }, () => recover(id)));
    for (let i = 0; i < 3; i++) answers.push(await recover(id));
    expect(answers).toEqual(Array(8).fill(null));
    expect(queries.get(id)).toBe(1);
  });

  it('asks again once the remembered answer is older than its time to live', async () => {
    const recover = recoverFromAudit(counted, silent, { notLiveTtlMs: 20 });
    const id = `never-${randomUUID()}`;
    await recover(id);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await recover(id);
    expect(queries.get(id)).toBe(2);
  });

  it('returns a live session every time, and remembers an ended one as not live', async () => {
    const recover = recoverFromAudit(counted, silent, { notLiveTtlMs: 60_000 });
    const live = `live-${randomUUID()}`;
    const ended = `ended-${randomUUID()}`;
    await store.write([auditEvent(live, 1), auditEvent(live, 2)]);
    await store.write([
      auditEvent(ended, 1),
      auditEvent(ended, 2, { type: 'expired', state: { status: 'expired' } }),
    ]);

    expect((await recover(live))?.version).toBe(2);
    expect((await recover(live))?.version).toBe(2);
    expect(queries.get(live)).toBe(2);

    expect(await recover(ended)).toBeNull();
    expect(await recover(ended)).toBeNull();
    expect(queries.get(ended)).toBe(1);
  });

  it('does not remember an unreachable trail: the next read asks again', async () => {
    const data = await freshPgliteDataDir();
    const closed = new AuditStore(await pgliteClient(data.dir), { name: 'pglite' });
    await closed.close();
    const calls: string[] = [];
    const recover = recoverFromAudit(
      {
        lastState: (sessionId) => {
          calls.push(sessionId);
          return closed.lastState(sessionId);
        },
      },
      silent,
      { notLiveTtlMs: 60_000 },
    );
    const id = `unreachable-${randomUUID()}`;
    expect(await recover(id)).toBeNull();
    expect(await recover(id)).toBeNull();
    expect(calls).toEqual([id, id]);
    await data.remove();
  });
});
