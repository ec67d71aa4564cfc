// The deadline scheduler against real stores: expiries applied with no request, at or after
// their deadline, exactly once across instances, including an instance's death and an outage.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { deadlineAtMs } from '../../src/engine/clocks.js';
import { DeadlineScheduler, type DeadlineSchedulerDeps } from '../../src/services/DeadlineScheduler.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import type { CreateSessionInput, SessionEvent, SessionState } from '../../src/types/session.js';
import type { StateStore } from '../../src/types/store.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

const clock = systemClock;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An event this instance's scheduler applied, and the clock's reading when it did. */
interface Applied {
  event: SessionEvent;
  appliedAtMs: number;
}

/** One "instance": an engine whose commits feed its own scheduler, as src/index.ts wires them. */
interface Instance {
  store: StateStore;
  engine: SyncEngine;
  scheduler: DeadlineScheduler;
  applied: Applied[];
}

type SchedulerOptions = Omit<DeadlineSchedulerDeps, 'engine' | 'store' | 'clock' | 'onExpired'>;

function startInstance(store: StateStore, options: SchedulerOptions = {}): Instance {
  const applied: Applied[] = [];
  const scheduler = new DeadlineScheduler({
    ...options,
    engine: { expireDue: (sessionId) => engine.expireDue(sessionId) },
    store,
    clock,
    onExpired: (events) => {
      const appliedAtMs = clock.nowMs();
      for (const event of events) applied.push({ event, appliedAtMs });
    },
  });
  const engine = new SyncEngine({
    store,
    clock,
    onCommit: (c) => scheduler.note(c.state.sessionId, c.removed ? null : deadlineAtMs(c.state)),
  });
  scheduler.start();
  return { store, engine, scheduler, applied };
}

function perParticipant(totalTimeMs: number): CreateSessionInput {
  return {
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
    total_time_ms: totalTimeMs,
  };
}

/** Creates and starts a session; returns the stored running state and its deadline. */
async function startSession(
  engine: SyncEngine,
  store: StateStore,
  input: CreateSessionInput,
): Promise<{ state: SessionState; deadlineAtMs: number }> {
  const { session_id: sessionId } = await engine.createSession(input);
  await engine.execute(sessionId, { type: 'start' });
  const state = await store.get(sessionId);
  const deadline = state === null ? null : deadlineAtMs(state);
  if (state === null || deadline === null) throw new Error(`session ${sessionId} is not running`);
  return { state, deadlineAtMs: deadline };
}

/** A run sheet of `count` cues of `cueMs` each, advancing by itself (auto_advance). */
function cueList(count: number, cueMs: number): CreateSessionInput {
  return {
    sync_mode: 'per_cycle',
    participants: [{ participant_id: 'host' }, { participant_id: 'guest' }],
    cycles: Array.from({ length: count }, (_, i) => ({
      label: `cue ${i}`,
      duration_ms: cueMs,
      participant_id: i % 2 === 0 ? 'host' : 'guest',
    })),
    on_expire: 'auto_advance',
  };
}

/** Each cue of a finished auto_advance run sheet: started at the previous one's deadline, applied once. */
function expectCuesAdvancedAtDeadlines(
  nodes: Instance[],
  state: SessionState,
  count: number,
  cueMs: number,
): void {
  const anchorAtMs = state.anchorAtMs!;
  const changes = [...appliedOfType(nodes, 'cycle_advanced'), ...appliedOfType(nodes, 'completed')]
    .filter(({ event }) => event.sessionId === state.sessionId)
    .sort((x, y) => x.event.version - y.event.version);
  expect(changes.map(({ event }) => event.type)).toEqual([
    ...Array.from({ length: count - 1 }, () => 'cycle_advanced'),
    'completed',
  ]);
  changes.forEach(({ event, appliedAtMs }, index) => {
    expect(event.atMs).toBe(anchorAtMs + (index + 1) * cueMs);
    expect(event.version).toBe(state.version + index + 1);
    expect(appliedAtMs).toBeGreaterThanOrEqual(event.atMs);
  });
  const last = changes.at(-1)!.event.state;
  expect(last.cues?.map((cue) => cue.actualMs)).toEqual(Array.from({ length: count }, () => cueMs));
}

function appliedOfType(instances: Instance[], type: SessionEvent['type']): Applied[] {
  return instances.flatMap((instance) => instance.applied).filter(({ event }) => event.type === type);
}

interface Backend {
  name: string;
  /** A store as one instance would have it (Redis: its own connection, a prefix shared per test). */
  newStore(keyPrefix: string): Promise<StateStore>;
  /** Deletes the session behind the store's back, where the backend allows it. */
  deleteBehindBack?(keyPrefix: string, sessionId: string): Promise<void>;
}

let server: RedisServerHandle;
const connections: Redis[] = [];
const memoryStores = new Map<string, MemoryStateStore>();

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  for (const store of memoryStores.values()) await store.close();
  await server?.close();
});

async function connect(): Promise<Redis> {
  const redis = createRedisConnection(server.url, {
    connectionName: 'deadlineScheduler-test',
    onError: () => {},
  });
  await connectRedis(redis);
  connections.push(redis);
  return redis;
}

const redisBackend: Backend = {
  name: 'redis',
  async newStore(keyPrefix) {
    return new RedisStateStore(await connect(), { clock, keyPrefix });
  },
  async deleteBehindBack(keyPrefix, sessionId) {
    const redis = await connect();
    const store = new RedisStateStore(redis, { clock, keyPrefix });
    await redis.del(store.keys.session(sessionId));
  },
};

// One process has one memory store: every "instance" of a test shares it.
const memoryBackend: Backend = {
  name: 'memory',
  async newStore(keyPrefix) {
    let store = memoryStores.get(keyPrefix);
    if (store === undefined) {
      store = new MemoryStateStore();
      memoryStores.set(keyPrefix, store);
    }
    return store;
  },
};

const instances: Instance[] = [];

async function instance(
  backend: Backend,
  keyPrefix: string,
  options: SchedulerOptions = {},
): Promise<Instance> {
  const started = startInstance(await backend.newStore(keyPrefix), options);
  instances.push(started);
  return started;
}

afterEach(async () => {
  for (const started of instances.splice(0)) await started.scheduler.close();
  for (const redis of connections.splice(0)) redis.disconnect();
});

const newPrefix = (): string => `test-${randomUUID().slice(0, 8)}:`;

describe.each([memoryBackend, redisBackend])('DeadlineScheduler on the $name store', (backend) => {
  it('expires a running session by itself, stamped at the deadline and applied no earlier', async () => {
    const node = await instance(backend, newPrefix());
    const { state, deadlineAtMs: deadline } = await startSession(
      node.engine,
      node.store,
      perParticipant(300),
    );

    // The scheduler reports what it applied just after its write: wait for the report as well.
    await vi.waitFor(
      async () => {
        expect((await node.store.get(state.sessionId))?.status).toBe('expired');
        expect(appliedOfType([node], 'expired')).not.toHaveLength(0);
      },
      { timeout: 5000, interval: 20 },
    );
    const expired = appliedOfType([node], 'expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]!.event).toMatchObject({
      sessionId: state.sessionId,
      atMs: deadline,
      participantId: 'a',
    });
    expect(expired[0]!.appliedAtMs).toBeGreaterThanOrEqual(deadline);
    expect(await node.store.deadlinesUntil(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it('advances auto_advance cycles by itself, each stamped at anchor + n × cycle, in order', async () => {
    const node = await instance(backend, newPrefix());
    const { state } = await startSession(node.engine, node.store, {
      sync_mode: 'per_cycle',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      time_per_cycle_ms: 200,
      on_expire: 'auto_advance',
    });
    const anchorAtMs = state.anchorAtMs!;

    await vi.waitFor(() => expect(appliedOfType([node], 'cycle_advanced').length).toBeGreaterThanOrEqual(4), {
      timeout: 5000,
      interval: 20,
    });
    await node.engine.deleteSession(state.sessionId);

    const cycles = appliedOfType([node], 'cycle_advanced');
    cycles.forEach(({ event, appliedAtMs }, index) => {
      expect(event.atMs).toBe(anchorAtMs + (index + 1) * 200);
      expect(event.version).toBe(state.version + index + 1);
      expect(event.participantId).toBe(index % 2 === 0 ? 'a' : 'b');
      expect(appliedAtMs).toBeGreaterThanOrEqual(event.atMs);
    });
  });

  it('runs a cue list by itself: each cue starts at the previous deadline, the last completes the session', async () => {
    const node = await instance(backend, newPrefix());
    const { state } = await startSession(node.engine, node.store, cueList(4, 150));
    await vi.waitFor(
      async () => {
        expect((await node.store.get(state.sessionId))?.status).toBe('completed');
        expect(appliedOfType([node], 'completed')).toHaveLength(1);
      },
      { timeout: 5000, interval: 20 },
    );
    expectCuesAdvancedAtDeadlines([node], state, 4, 150);
    expect(await node.store.deadlinesUntil(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it('drops index entries of sessions that are gone, so they do not hide the deadlines behind them', async () => {
    const keyPrefix = newPrefix();
    // The writer has no scheduler: its sessions can only be found by polling the index.
    const writerStore = await backend.newStore(keyPrefix);
    const writer = new SyncEngine({ store: writerStore, clock });

    // A session whose TTL ran out leaves its id in the index, overdue, ahead of every live one.
    const staleIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { state } = await startSession(writer, writerStore, perParticipant(60_000));
      await writerStore.save({
        expectedVersion: state.version,
        previousStatus: state.status,
        state: { ...state, version: state.version + 1 },
        deadlineAtMs: clock.nowMs() - 1000 + i,
        ttlMs: 1,
      });
      staleIds.push(state.sessionId);
    }
    if (backend.deleteBehindBack) {
      const { state } = await startSession(writer, writerStore, perParticipant(200));
      await backend.deleteBehindBack(keyPrefix, state.sessionId);
      staleIds.push(state.sessionId);
    }
    const live = [];
    for (let i = 0; i < 3; i++) live.push(await startSession(writer, writerStore, perParticipant(400)));

    // Each poll sees only as many entries as there are stale ones: the live ones come after them.
    const node = await instance(backend, keyPrefix, { batchSize: staleIds.length });
    await vi.waitFor(() => expect(appliedOfType([node], 'expired')).toHaveLength(live.length), {
      timeout: 5000,
      interval: 20,
    });

    const indexed = (await node.store.deadlinesUntil(Number.MAX_SAFE_INTEGER, 100)).map((e) => e.sessionId);
    for (const staleId of staleIds) expect(indexed).not.toContain(staleId);
    const expired = appliedOfType([node], 'expired');
    expect(expired.map(({ event }) => event.sessionId).sort()).toEqual(
      live.map((s) => s.state.sessionId).sort(),
    );
    for (const { event, appliedAtMs } of expired) {
      const { deadlineAtMs: deadline } = live.find((s) => s.state.sessionId === event.sessionId)!;
      expect(event.atMs).toBe(deadline);
      expect(appliedAtMs).toBeGreaterThanOrEqual(deadline);
    }
  });
});

describe('DeadlineScheduler across instances on one Redis', () => {
  /** Every session expired exactly once in total, stamped at its deadline, applied no earlier. */
  function expectExpiredOnceEach(nodes: Instance[], deadlines: Map<string, number>): void {
    const expired = appliedOfType(nodes, 'expired');
    expect(expired).toHaveLength(deadlines.size);
    expect(new Set(expired.map(({ event }) => event.sessionId))).toEqual(new Set(deadlines.keys()));
    for (const { event, appliedAtMs } of expired) {
      expect(event.atMs).toBe(deadlines.get(event.sessionId));
      expect(appliedAtMs).toBeGreaterThanOrEqual(event.atMs);
    }
  }

  async function waitForAllExpired(
    store: StateStore,
    sessionIds: Iterable<string>,
    timeoutMs: number,
  ): Promise<void> {
    const ids = [...sessionIds];
    await vi.waitFor(
      async () => {
        const states = await Promise.all(ids.map((id) => store.get(id)));
        expect(states.filter((s) => s?.status !== 'expired')).toEqual([]);
      },
      { timeout: timeoutMs, interval: 50 },
    );
  }

  it('two instances racing for 200 deadlines apply each expiry exactly once, none early', async () => {
    const keyPrefix = newPrefix();
    const nodes = [await instance(redisBackend, keyPrefix), await instance(redisBackend, keyPrefix)];
    // Deadlines spread over about 2 s; each instance writes half, so both have timers for some.
    const started = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        startSession(nodes[i % 2]!.engine, nodes[i % 2]!.store, perParticipant(300 + i * 9)),
      ),
    );
    const deadlines = new Map(started.map((s) => [s.state.sessionId, s.deadlineAtMs]));

    await waitForAllExpired(nodes[0]!.store, deadlines.keys(), 10_000);
    // Room for a duplicate to show up, had any instance applied one again.
    await sleep(300);
    expectExpiredOnceEach(nodes, deadlines);
  });

  it("two instances apply each cue of a run sheet's auto_advance exactly once, at its deadline", async () => {
    const keyPrefix = newPrefix();
    const nodes = [await instance(redisBackend, keyPrefix), await instance(redisBackend, keyPrefix)];
    const { state } = await startSession(nodes[0]!.engine, nodes[0]!.store, cueList(6, 120));
    await vi.waitFor(
      async () => {
        expect((await nodes[1]!.store.get(state.sessionId))?.status).toBe('completed');
        expect(appliedOfType(nodes, 'completed')).toHaveLength(1);
      },
      { timeout: 5000, interval: 20 },
    );
    await sleep(200);
    expectCuesAdvancedAtDeadlines(nodes, state, 6, 120);
  });

  it('deadlines written by an instance that died are applied by another one, which never saw them', async () => {
    const keyPrefix = newPrefix();
    const dying = await instance(redisBackend, keyPrefix);
    const started = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        startSession(dying.engine, dying.store, perParticipant(400 + i * 20)),
      ),
    );
    // Killed: its timers go with it, before any deadline.
    await dying.scheduler.close();
    expect(started.every((s) => s.deadlineAtMs > clock.nowMs())).toBe(true);

    const survivor = await instance(redisBackend, keyPrefix);
    const deadlines = new Map(started.map((s) => [s.state.sessionId, s.deadlineAtMs]));
    await waitForAllExpired(survivor.store, deadlines.keys(), 10_000);
    await sleep(200);
    expect(dying.applied).toEqual([]);
    expectExpiredOnceEach([survivor], deadlines);
  });

  it('keeps going through a Redis outage and applies the deadlines that passed during it, once', async () => {
    const keyPrefix = newPrefix();
    const warnings: Array<{ obj: object; msg: string }> = [];
    const errors: Array<{ obj: object; msg: string }> = [];
    const node = await instance(redisBackend, keyPrefix, {
      logger: {
        warn: (obj, msg) => warnings.push({ obj, msg }),
        error: (obj, msg) => errors.push({ obj, msg }),
      },
    });
    const started = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        // Far enough ahead that none falls before Redis is down, even on a loaded machine.
        startSession(node.engine, node.store, perParticipant(1500 + i * 20)),
      ),
    );
    const deadlines = new Map(started.map((s) => [s.state.sessionId, s.deadlineAtMs]));

    // The data outlives the restart, as with persistence; the helper's Redis loads dump.rdb from its dir.
    const admin = await connect();
    await admin.save();
    await server.stop();
    // Down until every deadline has passed, and a while longer.
    await sleep(Math.max(...deadlines.values()) - clock.nowMs() + 500);
    expect(started.every((s) => s.deadlineAtMs < clock.nowMs())).toBe(true);
    expect(node.applied).toEqual([]);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    await server.start();

    await waitForAllExpired(node.store, deadlines.keys(), 15_000);
    await sleep(200);
    expectExpiredOnceEach([node], deadlines);
    expect(warnings.at(-1)?.msg).toMatch(/answers again/);
    expect(errors).toEqual([]);
  });
});
