// The distributed audit trail end to end on a private redis-server and PostgreSQL: the stream
// the state scripts append to, the relay, the BullMQ queue and the worker that writes each
// record to PostgreSQL exactly once — through duplicates, a database outage, a record the
// database refuses, a relay and a worker that die mid-way.
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditRelay, type AuditRelayOptions } from '../../src/audit/AuditRelay.js';
import { AuditStore, isRecordError } from '../../src/audit/AuditStore.js';
import {
  AUDIT_JOB_ATTEMPTS,
  AuditQueue,
  AuditWorker,
  auditJobId,
  type AuditJobData,
  type AuditSink,
  type AuditWorkerOptions,
} from '../../src/audit/DBWriteQueue.js';
import { postgresClient } from '../../src/audit/sqlClient.js';
import { SyncEngine, auditRecord } from '../../src/engine/SyncEngine.js';
import { lifetimeOf } from '../../src/state/lifetime.js';
import { RedisStateStore } from '../../src/state/RedisStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { stateKeys, type StateKeys } from '../../src/state/keys.js';
import { connectRedis, createRedisConnection } from '../../src/state/redisConnection.js';
import type { SessionEvent } from '../../src/types/session.js';
import { auditEvent } from '../contract/auditStore.contract.js';
import { startPostgresServer, type PostgresServerHandle } from '../helpers/postgresServer.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

let redisServer: RedisServerHandle;
let postgres: PostgresServerHandle;
let store: AuditStore;
let databaseUrl: string;
/** Everything a test opened, closed after it in reverse order. */
let opened: Array<() => Promise<void>> = [];

beforeAll(async () => {
  // One after the other: each is kept before the next starts, so afterAll stops it even when the
  // next never comes up.
  redisServer = await startRedisServer();
  postgres = await startPostgresServer();
  databaseUrl = await postgres.createDatabase();
  store = new AuditStore(postgresClient(databaseUrl, { onError: () => {} }));
  await store.migrate();
});

afterEach(async () => {
  const closers = opened.reverse();
  opened = [];
  for (const close of closers) await close();
});

afterAll(async () => {
  await store?.close();
  await Promise.all([redisServer?.close(), postgres?.close()]);
});

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const newSessionId = (): string => `pipeline:${randomUUID()}`;

/** What the relay hands the queue for one record. */
function queued(event: SessionEvent): {
  sessionId: string;
  lifetime: string;
  version: number;
  record: string;
} {
  return {
    sessionId: event.sessionId,
    lifetime: lifetimeOf(event.state),
    version: event.version,
    record: auditRecord(event),
  };
}

/** The job id of a fixture's record (every fixture state has the same lifetime). */
function jobIdOf(sessionId: string, version: number): string {
  return auditJobId(sessionId, lifetimeOf(auditEvent(sessionId, version).state), version);
}

/** Polls until `condition` holds; fails naming `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The versions PostgreSQL holds for the session, in order (the primary key allows each once). */
async function versionsOf(sessionId: string): Promise<number[]> {
  return (await store.history(sessionId, { limit: 1000 })).events.map((e) => e.version);
}

async function connectionTo(name: string): Promise<Redis> {
  const redis = createRedisConnection(redisServer.url, { connectionName: name });
  await connectRedis(redis);
  return redis;
}

/** One test's pipeline: its own key prefix for the stream, its own BullMQ prefix for the queue. */
interface Pipeline {
  keys: StateKeys;
  queue: AuditQueue;
  /** For XADD, XREADGROUP and the like, as the state scripts and a dead relay would. */
  redis: Redis;
  /** One bucket's audit stream, where these tests append (the relay reads every bucket's). */
  log: string;
  startWorker(options?: Partial<AuditWorkerOptions>): AuditWorker;
  startRelay(options?: Partial<AuditRelayOptions>): Promise<AuditRelay>;
  backlog(): Promise<number>;
}

async function newPipeline(options: { backoffDelayMs?: number; keyPrefix?: string } = {}): Promise<Pipeline> {
  const tag = randomUUID().slice(0, 8);
  const keys = stateKeys(options.keyPrefix ?? `test-${tag}:`);
  const bull = { connection: { host: '127.0.0.1', port: redisServer.port }, prefix: `test-${tag}:bull` };
  const queue = new AuditQueue({ ...bull, backoffDelayMs: options.backoffDelayMs });
  opened.push(() => queue.close());
  const redis = await connectionTo('audit-pipeline-test');
  opened.push(async () => void (await redis.quit()));
  return {
    keys,
    queue,
    redis,
    log: keys.auditLog(keys.buckets.length - 1),
    startWorker(overrides = {}) {
      const worker = new AuditWorker({ ...bull, sink: store, ...overrides });
      opened.push(() => worker.close());
      return worker;
    },
    async startRelay(overrides = {}) {
      const relay = new AuditRelay({
        redis: await connectionTo('audit-relay-test'),
        keys,
        queue,
        consumerName: `relay-${randomUUID().slice(0, 8)}`,
        ...overrides,
      });
      opened.push(() => relay.close());
      relay.start();
      return relay;
    },
    backlog: async () => (await queue.depth()).backlog,
  };
}

/** Entries in the stream and entries read but not acknowledged. */
async function streamState(p: Pipeline): Promise<{ length: number; pending: number }> {
  const [length, summary] = await Promise.all([
    p.redis.xlen(p.log),
    p.redis.xpending(p.log, p.keys.auditRelayGroup) as Promise<[number, ...unknown[]]>,
  ]);
  return { length, pending: summary[0] };
}

const drained = (p: Pipeline) => async (): Promise<boolean> => (await p.backlog()) === 0;

describe('AuditQueue and AuditWorker', () => {
  it('write each record exactly once: duplicates queued together collapse, a completed job queued again changes nothing', async () => {
    const p = await newPipeline();
    const sessions = [newSessionId(), newSessionId(), newSessionId()];
    const records = sessions.flatMap((id) => range(1, 5).map((v) => queued(auditEvent(id, v))));
    await p.queue.addRecords(records);
    // The same records again, one of them twice in one batch: each id is already taken.
    await p.queue.addRecords([...records.slice(0, 4), records[0]!]);
    expect(await p.queue.depth()).toEqual({ backlog: 15, failed: 0 });

    const worker = p.startWorker();
    let completed = 0;
    worker.worker.on('completed', () => completed++);
    await waitFor('the backlog to drain', drained(p));
    for (const id of sessions) expect(await versionsOf(id)).toEqual(range(1, 5));
    const firstRow = (await store.history(sessions[0]!, { limit: 1 })).events[0]!;

    // Completed jobs are removed, so the same record queued again is a new job that runs again.
    const runsBefore = completed;
    await p.queue.addRecords([records[0]!]);
    await waitFor('the re-queued record to run', async () => completed === runsBefore + 1);
    expect(await versionsOf(sessions[0]!)).toEqual(range(1, 5));
    // The row is the one written first, untouched.
    expect((await store.history(sessions[0]!, { limit: 1 })).events[0]).toEqual(firstRow);
    expect(await p.queue.depth()).toEqual({ backlog: 0, failed: 0 });
  });

  it('with PostgreSQL stopped the worker spends no attempts; the backlog waits and drains after it starts', async () => {
    const p = await newPipeline();
    const outages: boolean[] = [];
    const onFailed = vi.fn();
    p.startWorker({ onOutage: (down) => outages.push(down), onFailed });
    const sessions = [newSessionId(), newSessionId()];
    const records = sessions.flatMap((id) => range(1, 10).map((v) => queued(auditEvent(id, v))));

    await postgres.stop();
    try {
      await p.queue.addRecords(records);
      await waitFor('the worker to see the outage', async () => outages.includes(true));
      // A job taken and put back more often than it has attempts, and still not failed.
      await waitFor(
        `a job to be tried more than ${AUDIT_JOB_ATTEMPTS} times`,
        async () => {
          const jobs = await p.queue.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
          return jobs.some((job) => job.attemptsStarted > AUDIT_JOB_ATTEMPTS);
        },
        15_000,
      );
      const jobs = await p.queue.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'failed']);
      expect(jobs.map((job) => job.attemptsMade)).toEqual(jobs.map(() => 0));
      expect(await p.queue.depth()).toEqual({ backlog: 20, failed: 0 });
    } finally {
      await postgres.start();
    }

    await waitFor('the backlog to drain', drained(p), 15_000);
    for (const id of sessions) expect(await versionsOf(id)).toEqual(range(1, 10));
    expect(await p.queue.depth()).toEqual({ backlog: 0, failed: 0 });
    expect(outages).toEqual([true, false]);
    expect(onFailed).not.toHaveBeenCalled();
  });

  it('a record PostgreSQL refuses for a reason other than its data is tried AUDIT_JOB_ATTEMPTS times, then kept as failed; the records after it are written', async () => {
    const sessionId = newSessionId();
    // A refusal that is not about the values (here a trigger's; a permission or a half-applied
    // migration alike): an operator may fix it, so it is worth retrying.
    const sql = postgresClient(databaseUrl);
    await sql.exec(`
      CREATE FUNCTION refuse_flagged_actor() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.actor = 'flagged' THEN
          RAISE EXCEPTION 'audit row refused by a trigger' USING ERRCODE = '55000';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_flagged_actor BEFORE INSERT ON audit_events
        FOR EACH ROW EXECUTE FUNCTION refuse_flagged_actor();`);
    opened.push(async () => {
      await sql.exec(
        'DROP TRIGGER refuse_flagged_actor ON audit_events; DROP FUNCTION refuse_flagged_actor();',
      );
      await sql.close();
    });
    const poison: SessionEvent = { ...auditEvent(sessionId, 1), actor: 'flagged' };
    const refusal = await store.write([poison]).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refusal).toMatchObject({ code: '55000' });
    expect(store.isOutage(refusal)).toBe(false);
    expect(isRecordError(refusal)).toBe(false);

    const p = await newPipeline({ backoffDelayMs: 10 });
    const failures: Array<[Job<AuditJobData> | undefined, Error]> = [];
    const worker = p.startWorker({ onFailed: (job, err) => failures.push([job, err]) });
    let failedEvents = 0;
    worker.worker.on('failed', () => failedEvents++);
    const other = newSessionId();
    await p.queue.addRecords([
      queued(poison),
      ...range(2, 6).map((v) => queued(auditEvent(sessionId, v))),
      ...range(1, 3).map((v) => queued(auditEvent(other, v))),
    ]);

    await waitFor('the poison record to fail for good', async () => (await p.queue.depth()).failed === 1);
    await waitFor('the backlog to drain', drained(p));
    expect(await versionsOf(sessionId)).toEqual(range(2, 6));
    expect(await versionsOf(other)).toEqual(range(1, 3));

    const [kept] = await p.queue.queue.getJobs(['failed']);
    expect(kept?.id).toBe(jobIdOf(sessionId, 1));
    expect(kept?.attemptsMade).toBe(AUDIT_JOB_ATTEMPTS);
    expect(kept?.failedReason).toMatch(/refused by a trigger/);
    expect(failedEvents).toBe(AUDIT_JOB_ATTEMPTS);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.[0]?.id).toBe(jobIdOf(sessionId, 1));
  });

  it('4: records PostgreSQL refuses as data (an unpaired surrogate, a NUL) fail at once and are counted; no other record waits for them', async () => {
    // The default backoff: five attempts would keep each poison record for 15 s.
    const p = await newPipeline();
    const failures: Array<Job<AuditJobData> | undefined> = [];
    p.startWorker({ onFailed: (job) => failures.push(job) });
    await p.startRelay();
    const poisoned = newSessionId();
    const bystander = newSessionId();
    const poison = [
      auditEvent(poisoned, 1, { state: { metadata: { note: 'x\ud800' } } }),
      { ...auditEvent(poisoned, 2), actor: 'admin\u0000' },
    ];
    // As the state scripts append them: one stream entry per record, in field 'r'.
    for (const event of [poison[0]!, auditEvent(bystander, 1), poison[1]!, auditEvent(bystander, 2)])
      await p.redis.xadd(p.log, '*', 'r', auditRecord(event));

    await waitFor('both poison records to fail for good', async () => (await p.queue.depth()).failed === 2);
    // The relay may have read the stream between two of the appends: the rest comes a read later.
    await waitFor('the stream to empty', async () => {
      const { length, pending } = await streamState(p);
      return length === 0 && pending === 0;
    });
    await waitFor('the backlog to drain', drained(p));
    expect(await versionsOf(bystander)).toEqual([1, 2]);
    expect(await versionsOf(poisoned)).toEqual([]);

    const kept = await p.queue.queue.getJobs(['failed']);
    const byId = new Map(kept.map((job) => [job.id, job]));
    expect(byId.get(jobIdOf(poisoned, 1))).toMatchObject({
      attemptsMade: 1,
      failedReason: expect.stringMatching(/invalid input syntax/),
    });
    expect(byId.get(jobIdOf(poisoned, 2))).toMatchObject({
      attemptsMade: 1,
      failedReason: expect.stringMatching(/0x00/),
    });
    expect(failures.map((job) => job?.id).sort()).toEqual(
      [jobIdOf(poisoned, 1), jobIdOf(poisoned, 2)].sort(),
    );
  });

  it('a worker killed mid-write: another worker takes its job once the lock runs out', async () => {
    const p = await newPipeline();
    let markTaken = (): void => {};
    const taken = new Promise<void>((resolve) => (markTaken = resolve));
    const hanging: AuditSink = {
      write: () => {
        markTaken();
        return new Promise<number>(() => {});
      },
      isOutage: () => false,
    };
    const dying = p.startWorker({ sink: hanging });
    const sessionId = newSessionId();
    await p.queue.addRecords([queued(auditEvent(sessionId, 1))]);
    await taken;
    // Closed by force, as a killed process would leave it: the job active, its lock no longer renewed.
    await dying.worker.close(true);
    expect(await p.queue.queue.getJobCounts('active')).toEqual({ active: 1 });

    p.startWorker();
    await waitFor(
      'the abandoned job to be written',
      async () => (await versionsOf(sessionId)).length > 0,
      15_000,
    );
    expect(await versionsOf(sessionId)).toEqual([1]);
    await waitFor('the backlog to drain', drained(p));
    expect(await p.queue.depth()).toEqual({ backlog: 0, failed: 0 });
  }, 30_000);

  it('a record that is not a SessionEvent fails at once, is kept as failed and counted', async () => {
    const p = await newPipeline({ backoffDelayMs: 10 });
    const failures: Array<Job<AuditJobData> | undefined> = [];
    p.startWorker({ onFailed: (job) => failures.push(job) });
    const sessionId = newSessionId();
    const { state: _state, ...stateless } = auditEvent(sessionId, 1);
    await p.queue.addRecords([
      { sessionId, lifetime: '', version: 1, record: JSON.stringify(stateless) },
      { sessionId, lifetime: '', version: 2, record: '{"sessionId": "cut off' },
      queued(auditEvent(sessionId, 3)),
    ]);

    await waitFor('both bad records to fail for good', async () => (await p.queue.depth()).failed === 2);
    await waitFor('the backlog to drain', drained(p));
    expect(await versionsOf(sessionId)).toEqual([3]);
    const kept = await p.queue.queue.getJobs(['failed']);
    // Retrying cannot make them writable: one attempt each.
    expect(kept.map((job) => job.attemptsMade)).toEqual([1, 1]);
    expect(failures.map((job) => job?.id).sort()).toEqual(
      [auditJobId(sessionId, '', 1), auditJobId(sessionId, '', 2)].sort(),
    );
  });
});

describe('AuditRelay', () => {
  it('queues what the state scripts append, then acknowledges and deletes it', async () => {
    const p = await newPipeline();
    const sessionId = newSessionId();
    const events = range(1, 8).map((v) => auditEvent(sessionId, v));
    // As save-session-5.lua appends them: one entry per version, the record in field 'r'.
    for (const event of events.slice(0, 4)) await p.redis.xadd(p.log, '*', 'r', auditRecord(event));
    await p.startRelay();
    await waitFor('the first entries to be queued', async () => (await p.backlog()) === 4);
    for (const event of events.slice(4)) await p.redis.xadd(p.log, '*', 'r', auditRecord(event));
    await waitFor('all entries to be queued', async () => (await p.backlog()) === 8);
    await waitFor('the stream to empty', async () => {
      const { length, pending } = await streamState(p);
      return length === 0 && pending === 0;
    });
    const ids = (await p.queue.queue.getJobs(['waiting'])).map((job) => job.id).sort();
    expect(ids).toEqual(events.map((e) => jobIdOf(e.sessionId, e.version)).sort());

    p.startWorker();
    await waitFor('the backlog to drain', drained(p));
    expect(await versionsOf(sessionId)).toEqual(range(1, 8));
  });

  it('a relay that read entries and died before queueing them: another claims them; nothing lost, nothing twice', async () => {
    const p = await newPipeline();
    const sessionId = newSessionId();
    await p.redis.xgroup('CREATE', p.log, p.keys.auditRelayGroup, '0', 'MKSTREAM');
    for (const v of range(1, 6)) await p.redis.xadd(p.log, '*', 'r', auditRecord(auditEvent(sessionId, v)));
    // The dead relay took the first four and never acknowledged them.
    const read = (await p.redis.xreadgroup(
      'GROUP',
      p.keys.auditRelayGroup,
      'dead-relay',
      'COUNT',
      4,
      'STREAMS',
      p.log,
      '>',
    )) as Array<[string, unknown[]]>;
    expect(read[0]?.[1]).toHaveLength(4);

    const worker = p.startWorker();
    let writes = 0;
    worker.worker.on('completed', () => writes++);
    await p.startRelay({ claimIdleMs: 200 });
    await waitFor('every version to be written', async () => (await versionsOf(sessionId)).length === 6);
    await waitFor('the stream to empty', async () => {
      const { length, pending } = await streamState(p);
      return length === 0 && pending === 0;
    });
    await waitFor('the backlog to drain', drained(p));
    expect(await versionsOf(sessionId)).toEqual(range(1, 6));
    // Each entry was queued once: one job each.
    expect(writes).toBe(6);
  });
  it('a batch the queue refused is queued again before newer entries, so a session keeps its order', async () => {
    const p = await newPipeline();
    const sessionId = newSessionId();
    for (const v of range(1, 3)) await p.redis.xadd(p.log, '*', 'r', auditRecord(auditEvent(sessionId, v)));
    const queuedVersions: number[] = [];
    let calls = 0;
    await p.startRelay({
      claimIdleMs: 60_000,
      onError: () => {},
      queue: {
        addRecords: async (records: Array<{ version: number }>) => {
          calls += 1;
          if (calls === 1) {
            // Newer entries arrive while the first batch is being refused.
            for (const v of range(4, 5))
              await p.redis.xadd(p.log, '*', 'r', auditRecord(auditEvent(sessionId, v)));
            throw new Error('queue unavailable');
          }
          queuedVersions.push(...records.map((record) => record.version));
        },
      },
    });
    await waitFor('all five queued', async () => queuedVersions.length >= 5);
    expect(queuedVersions).toEqual(range(1, 5));
  });

  it('on one Redis a poll reads the streams of every bucket in one command', async () => {
    const p = await newPipeline();
    const sessionId = newSessionId();
    // Entries in the first and the last bucket: one read brings both.
    const first = p.keys.auditLog(p.keys.buckets[0]!);
    await p.redis.xadd(first, '*', 'r', auditRecord(auditEvent(sessionId, 1)));
    await p.redis.xadd(p.log, '*', 'r', auditRecord(auditEvent(newSessionId(), 1)));
    const queued: number[] = [];
    await p.startRelay({
      queue: { addRecords: async (records) => void queued.push(records.length) },
    });
    await waitFor('both queued', async () => queued.reduce((a, b) => a + b, 0) === 2);
    expect(queued).toEqual([2]);

    const xreadgroupCalls = async (): Promise<number> =>
      Number(/cmdstat_xreadgroup:calls=(\d+)/.exec(await p.redis.info('commandstats'))?.[1] ?? 0);
    const before = await xreadgroupCalls();
    const fromMs = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const reads = (await xreadgroupCalls()) - before;
    // A poll per 100 ms, each one command (a command per bucket would be 64 each).
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(Math.ceil((performance.now() - fromMs) / 100) + 2);
  });

  it('entries that trickle in go in batches, one read per poll interval; a full batch is read again at once', async () => {
    const p = await newPipeline();
    const sessionId = newSessionId();
    const batches: number[][] = [];
    await p.startRelay({
      queue: {
        addRecords: async (records: Array<{ version: number }>) => {
          batches.push(records.map((record) => record.version));
        },
      },
    });
    // A change every 2 ms or so for a while, as busy sessions make them.
    const fromMs = performance.now();
    for (const v of range(1, 300)) {
      await p.redis.xadd(p.log, '*', 'r', auditRecord(auditEvent(sessionId, v)));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await waitFor('all queued', async () => batches.flat().length >= 300);
    const elapsedMs = performance.now() - fromMs;
    expect(batches.flat()).toEqual(range(1, 300));
    // A read per 100 ms at most: reading again right after each non-empty read took one per few entries.
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 100) + 2);

    // 1,200 entries at once (a transaction: no read comes between): batches of 500, 500 and 200.
    batches.length = 0;
    const transaction = p.redis.multi();
    for (const v of range(301, 1500))
      transaction.xadd(p.log, '*', 'r', auditRecord(auditEvent(sessionId, v)));
    await transaction.exec();
    await waitFor('all queued', async () => batches.flat().length >= 1200);
    expect(batches.flat()).toEqual(range(301, 1500));
    expect(batches.map((batch) => batch.length).filter((n) => n === 500)).toHaveLength(2);
  });

  it('an entry it cannot read is logged and left in the stream, and does not hold up the others', async () => {
    const p = await newPipeline();
    const sessionId = newSessionId();
    const errors: string[] = [];
    p.startWorker();
    await p.startRelay({ onError: (_err, context) => errors.push(context) });
    const add = (field: string, value: string): Promise<string | null> =>
      p.redis.xadd(p.log, '*', field, value);
    await add('r', auditRecord(auditEvent(sessionId, 1)));
    const unreadable = [
      await add('r', 'not json'),
      await add('r', '{"version": 2}'),
      await add('x', auditRecord(auditEvent(sessionId, 2))),
    ];
    await add('r', auditRecord(auditEvent(sessionId, 3)));

    await waitFor(
      'the readable entries to be written',
      async () => (await versionsOf(sessionId)).length === 2,
    );
    await waitFor('no entry left pending', async () => (await streamState(p)).pending === 0);
    expect(await versionsOf(sessionId)).toEqual([1, 3]);
    expect((await p.redis.xrange(p.log, '-', '+')).map(([id]) => id)).toEqual(unreadable);
    expect(errors).toEqual(unreadable.map((id) => `unreadable audit log entry ${id}`));

    // Still relaying.
    await add('r', auditRecord(auditEvent(sessionId, 4)));
    await waitFor('a later entry to be written', async () => (await versionsOf(sessionId)).length === 3);
  });

  it('close() releases its connection even if it never started, and is safe twice', async () => {
    const redis = await connectionTo('audit-relay-unstarted');
    const relay = new AuditRelay({
      redis,
      keys: stateKeys(`test-${randomUUID().slice(0, 8)}:`),
      queue: { addRecords: async () => {} },
      consumerName: 'never-started',
    });
    await relay.close();
    await relay.close();
    await waitFor('the connection to end', async () => redis.status === 'end');
  });
});

describe('the whole pipeline', () => {
  it('changes made through SyncEngine on Redis reach PostgreSQL as versions 1..N, each once', async () => {
    const keyPrefix = `test-${randomUUID().slice(0, 8)}:`;
    const p = await newPipeline({ keyPrefix });
    const redis = await connectionTo('audit-pipeline-state');
    const stateStore = new RedisStateStore(redis, { clock: systemClock, keyPrefix });
    opened.push(async () => {
      await stateStore.close();
      await redis.quit();
    });
    const committed: SessionEvent[] = [];
    const engine = new SyncEngine({
      store: stateStore,
      clock: systemClock,
      onCommit: (commit) => committed.push(...commit.events),
    });
    p.startWorker();
    await p.startRelay();

    const sessionId = newSessionId();
    await engine.createSession({
      session_id: sessionId,
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
      total_time_ms: 600_000,
    });
    await engine.execute(sessionId, { type: 'start' }, { actor: 'arbiter' });
    for (let i = 0; i < 6; i++) await engine.execute(sessionId, { type: 'switch' });
    await engine.execute(sessionId, { type: 'pause' });
    await engine.execute(sessionId, { type: 'adjust', participantId: 'w', deltaMs: 5_000 });
    await engine.execute(sessionId, { type: 'resume' });
    await engine.deleteSession(sessionId);

    const lastVersion = committed.at(-1)!.version;
    expect(committed.map((e) => e.version)).toEqual(range(1, lastVersion));
    await waitFor(
      'every version to be written',
      async () => (await versionsOf(sessionId)).length === lastVersion,
    );
    await waitFor('the stream to empty', async () => (await streamState(p)).length === 0);
    await waitFor('the backlog to drain', drained(p));

    const rows = (await store.history(sessionId, { limit: 1000 })).events;
    expect(rows.map((r) => [r.version, r.event, r.at, r.actor])).toEqual(
      committed.map((e) => [e.version, e.type, e.atMs, e.actor]),
    );
    expect(rows.at(-1)?.event).toBe('cancelled');
    expect((await store.sessionSummary(sessionId))?.last_version).toBe(lastVersion);
  });
});
