// One suite, every PresenceStore: the embedded one must behave exactly like the Redis one.
// Times are plain numbers here (no clock runs): each store takes `now` from its caller.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DisconnectEntry, PresenceStore } from '../../src/types/presence.js';

export interface PresenceStoreContext {
  store: PresenceStore;
  cleanup(): Promise<void>;
}

const T0 = 1_700_000_000_000;
const GRACE_MS = 500;
const LEASE_MS = 3000;

export function presenceStoreContract(name: string, setup: () => Promise<PresenceStoreContext>): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let ctx: PresenceStoreContext;
    let store: PresenceStore;
    let sessionId: string;

    beforeEach(async () => {
      ctx = await setup();
      store = ctx.store;
      sessionId = `s-${randomUUID()}`;
    });

    afterEach(async () => {
      await ctx.cleanup();
    });

    async function dueFor(untilMs: number) {
      return (await store.due(untilMs, 100)).filter((entry) => entry.sessionId === sessionId);
    }

    it('a renewal makes the participant present until its lease ends, and due a grace after', async () => {
      await store.renew(sessionId, 'alice', 'i1', T0 + LEASE_MS, GRACE_MS);
      expect(await store.present(sessionId, 'alice', T0)).toBe(true);
      expect(await store.present(sessionId, 'bob', T0)).toBe(false);
      expect(await store.present(sessionId, 'alice', T0 + LEASE_MS)).toBe(false);
      expect(await dueFor(T0 + LEASE_MS + GRACE_MS - 1)).toEqual([]);
      expect(await dueFor(T0 + LEASE_MS + GRACE_MS)).toEqual([
        { sessionId, participantId: 'alice', dueAtMs: T0 + LEASE_MS + GRACE_MS },
      ]);
    });

    it('renewals only push the entry later: an earlier lease (a slower instance) leaves it', async () => {
      await store.renew(sessionId, 'alice', 'i1', T0 + 2 * LEASE_MS, GRACE_MS);
      await store.renew(sessionId, 'alice', 'i2', T0 + LEASE_MS, GRACE_MS);
      const [entry] = await dueFor(Number.MAX_SAFE_INTEGER);
      expect(entry?.dueAtMs).toBe(T0 + 2 * LEASE_MS + GRACE_MS);
    });

    it('a release while another instance holds a lease leaves the entry where renewals put it', async () => {
      await store.renew(sessionId, 'alice', 'i1', T0 + LEASE_MS, GRACE_MS);
      await store.renew(sessionId, 'alice', 'i2', T0 + LEASE_MS, GRACE_MS);
      await store.release(sessionId, 'alice', 'i1', T0 + 100, GRACE_MS);
      expect(await store.present(sessionId, 'alice', T0 + 100)).toBe(true);
      const [entry] = await dueFor(Number.MAX_SAFE_INTEGER);
      expect(entry?.dueAtMs).toBe(T0 + LEASE_MS + GRACE_MS);
    });

    it('the last release makes the entry due a grace after it, earlier than the lease', async () => {
      await store.renew(sessionId, 'alice', 'i1', T0 + LEASE_MS, GRACE_MS);
      await store.renew(sessionId, 'alice', 'i2', T0 + LEASE_MS, GRACE_MS);
      await store.release(sessionId, 'alice', 'i1', T0 + 100, GRACE_MS);
      await store.release(sessionId, 'alice', 'i2', T0 + 200, GRACE_MS);
      expect(await store.present(sessionId, 'alice', T0 + 200)).toBe(false);
      expect(await dueFor(Number.MAX_SAFE_INTEGER)).toEqual([
        { sessionId, participantId: 'alice', dueAtMs: T0 + 200 + GRACE_MS },
      ]);
    });

    it('a lease that ran out (an instance that died) does not hold the participant at a release', async () => {
      await store.renew(sessionId, 'alice', 'dead', T0 + LEASE_MS, GRACE_MS);
      await store.renew(sessionId, 'alice', 'i1', T0 + 2 * LEASE_MS, GRACE_MS);
      await store.release(sessionId, 'alice', 'i1', T0 + LEASE_MS + 1, GRACE_MS);
      expect(await store.present(sessionId, 'alice', T0 + LEASE_MS + 1)).toBe(false);
      const [entry] = await dueFor(Number.MAX_SAFE_INTEGER);
      expect(entry?.dueAtMs).toBe(T0 + LEASE_MS + 1 + GRACE_MS);
    });

    it('a renewal after a release brings the participant back and the entry later', async () => {
      await store.renew(sessionId, 'alice', 'i1', T0 + LEASE_MS, GRACE_MS);
      await store.release(sessionId, 'alice', 'i1', T0 + 100, GRACE_MS);
      await store.renew(sessionId, 'alice', 'i1', T0 + 300 + LEASE_MS, GRACE_MS);
      expect(await store.present(sessionId, 'alice', T0 + 300)).toBe(true);
      const [entry] = await dueFor(Number.MAX_SAFE_INTEGER);
      expect(entry?.dueAtMs).toBe(T0 + 300 + LEASE_MS + GRACE_MS);
    });

    it('due lists entries earliest first, up to the limit, across sessions', async () => {
      const other = `s-${randomUUID()}`;
      await store.renew(sessionId, 'alice', 'i1', T0 + 2000, GRACE_MS);
      await store.renew(other, 'bob', 'i1', T0 + 1000, GRACE_MS);
      await store.renew(sessionId, 'carol', 'i1', T0 + 3000, GRACE_MS);
      const mine = (entries: DisconnectEntry[]) =>
        entries.filter((e) => e.sessionId === sessionId || e.sessionId === other);
      expect(mine(await store.due(T0 + 10_000, 100)).map((e) => e.participantId)).toEqual([
        'bob',
        'alice',
        'carol',
      ]);
      expect(await store.due(T0 + 10_000, 0)).toEqual([]);
    });

    it('settle removes or moves an entry only while it is still where the sweep read it', async () => {
      await store.renew(sessionId, 'alice', 'i1', T0 + LEASE_MS, GRACE_MS);
      const [entry] = await dueFor(Number.MAX_SAFE_INTEGER);
      expect(entry).toBeDefined();
      // A renewal since: the settle finds it moved and changes nothing.
      await store.renew(sessionId, 'alice', 'i1', T0 + 2 * LEASE_MS, GRACE_MS);
      expect(await store.settle(entry!, null)).toBe(false);
      const [moved] = await dueFor(Number.MAX_SAFE_INTEGER);
      expect(moved?.dueAtMs).toBe(T0 + 2 * LEASE_MS + GRACE_MS);

      expect(await store.settle(moved!, T0 + 99_000)).toBe(true);
      const [rearmed] = await dueFor(Number.MAX_SAFE_INTEGER);
      expect(rearmed?.dueAtMs).toBe(T0 + 99_000);
      expect(await store.settle(rearmed!, null)).toBe(true);
      expect(await dueFor(Number.MAX_SAFE_INTEGER)).toEqual([]);
      expect(await store.settle(rearmed!, null)).toBe(false);
    });
  });
}
