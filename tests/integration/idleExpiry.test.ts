// The maximum idle time through the deadline scheduler, on both stores: with no request at all,
// pending, paused and unlimited running sessions end with `idle_expired` once (two instances
// racing on one Redis) and leave the store.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { DeadlineScheduler } from '../../src/services/DeadlineScheduler.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import type { SessionEvent } from '../../src/types/session.js';
import type { StateStore } from '../../src/types/store.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

const MAX_IDLE_MS = 500;

interface Instance {
  engine: SyncEngine;
  scheduler: DeadlineScheduler;
}

/** An engine whose commits feed its own scheduler, as src/index.ts wires them. */
function startInstance(store: StateStore, applied: SessionEvent[]): Instance {
  const engine: SyncEngine = new SyncEngine({
    store,
    clock: systemClock,
    maxIdleMs: MAX_IDLE_MS,
    onCommit: (c) => scheduler.note(c.state.sessionId, c.removed ? null : engine.deadlineOf(c.state)),
  });
  const scheduler = new DeadlineScheduler({
    engine,
    store,
    clock: systemClock,
    pollIntervalMs: 50,
    onExpired: (events) => applied.push(...events),
  });
  scheduler.start();
  return { engine, scheduler };
}

async function idleSessions(engine: SyncEngine): Promise<string[]> {
  const prefix = randomUUID().slice(0, 8);
  const ids = [`${prefix}-pending`, `${prefix}-paused`, `${prefix}-stopwatch`];
  const game = { sync_mode: 'per_participant' as const, total_time_ms: 3_600_000 };
  const players = [{ participant_id: 'w' }, { participant_id: 'b' }];
  await engine.createSession({ ...game, session_id: ids[0], participants: players });
  await engine.createSession({ ...game, session_id: ids[1], participants: players });
  await engine.execute(ids[1]!, { type: 'start' });
  await engine.execute(ids[1]!, { type: 'pause' });
  await engine.createSession({
    session_id: ids[2],
    sync_mode: 'count_up',
    participants: [{ participant_id: 'runner' }],
  });
  await engine.execute(ids[2]!, { type: 'start' });
  return ids;
}

async function expectAllIdleExpiredOnce(
  store: StateStore,
  ids: string[],
  applied: SessionEvent[],
): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const id of ids) expect(await store.get(id)).toBeNull();
    },
    { timeout: 10_000, interval: 50 },
  );
  const idle = applied.filter((e) => e.type === 'idle_expired');
  expect(idle.map((e) => e.sessionId).sort()).toEqual([...ids].sort());
  expect(await store.deadlinesUntil(Number.MAX_SAFE_INTEGER, 100)).toEqual([]);
}

describe('maximum idle time, embedded store', () => {
  it('ends every idle session once, with no request', async () => {
    const store = new MemoryStateStore();
    const applied: SessionEvent[] = [];
    const instance = startInstance(store, applied);
    const ids = await idleSessions(instance.engine);
    await expectAllIdleExpiredOnce(store, ids, applied);
    await instance.scheduler.close();
    await store.close();
  });
});

describe('maximum idle time, Redis', () => {
  let server: RedisServerHandle;
  const connections: Redis[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    for (const redis of connections) redis.disconnect();
    await server?.close();
  });

  it('two instances on one Redis: every idle session ends exactly once', async () => {
    const keyPrefix = `idle-${randomUUID().slice(0, 8)}:`;
    const applied: SessionEvent[] = [];
    const instances: Instance[] = [];
    const stores: StateStore[] = [];
    for (let i = 0; i < 2; i++) {
      const redis = createRedisConnection(server.url, { connectionName: `idle-${i}` });
      await connectRedis(redis);
      connections.push(redis);
      const store = new RedisStateStore(redis, { clock: systemClock, keyPrefix });
      stores.push(store);
      instances.push(startInstance(store, applied));
    }
    const ids = await idleSessions(instances[0]!.engine);
    await expectAllIdleExpiredOnce(stores[1]!, ids, applied);
    for (const { scheduler } of instances) await scheduler.close();
  });
});
