// Two instances on a private Redis Cluster (three masters, three replicas): a change crosses
// instances over sharded pub/sub, 1,000 sessions spread over every bucket and every master
// expire exactly once with their audit trail complete, and a master killed mid-run is replaced
// by its replica: commands answer 503 for the gap, work again without a restart, and the
// expiries owed during the gap are applied once afterwards.
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stateKeys } from '../../src/state/keys.js';
import type { SessionView } from '../../src/types/session.js';
import { callJson } from '../helpers/http.js';
import { startPostgresServer, type PostgresServerHandle } from '../helpers/postgresServer.js';
import { until } from '../helpers/until.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redisCluster.js';
import {
  listeningPort,
  startService,
  stopAllServices,
  type ServiceProcess,
} from '../helpers/serviceProcess.js';

interface Instance {
  service: ServiceProcess;
  http: string;
  ws: string;
}

const KEYS = stateKeys();
const SESSIONS = 1_000;

let cluster: RedisClusterHandle | undefined;
let postgres: PostgresServerHandle | undefined;
let db: pg.Client | undefined;
let a: Instance;
let b: Instance;
/** Bucket → the slot its tag hashes to (asked of Redis, not computed here). */
const slotOfBucket = new Map<number, number>();

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const service = startService({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    RATE_LIMIT_MAX: '0',
    ...env,
  });
  const port = listeningPort(await service.waitForLog((line) => line.msg.startsWith('listening')));
  return { service, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/v1/ws` };
}

/** Runs `task` over `items`, `concurrency` at a time. */
async function inParallel<T, R>(
  items: T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i]!);
      }
    }),
  );
  return results;
}

/**
 * Creates and starts a session. On a loaded machine a call may outlast the 1 s Redis bound and
 * answer 503, which means the write happened or never will: it is sent again, and a 409 then
 * means the first one landed.
 */
async function createRunning(base: string, sessionId: string, totalTimeMs: number): Promise<void> {
  const send = async (path: string, body?: unknown): Promise<number> => {
    for (;;) {
      const response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (response.status !== 503) return response.status;
      await response.body?.cancel();
    }
  };
  const created = await send('/v1/sessions', {
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
    total_time_ms: totalTimeMs,
  });
  const started = await send(`/v1/sessions/${sessionId}/start`);
  if (![201, 200, 409].includes(created) || ![200, 409].includes(started)) {
    throw new Error(`${sessionId}: create ${created}, start ${started}`);
  }
}

/** Every audited version of each session, in order. */
async function auditedVersions(sessionIds: string[]): Promise<Map<string, number[]>> {
  const { rows } = await db!.query<{ session_id: string; versions: number[] }>(
    `SELECT session_id, array_agg(version ORDER BY version) AS versions
       FROM audit_events WHERE session_id = ANY($1) GROUP BY session_id`,
    [sessionIds],
  );
  return new Map(rows.map((row) => [row.session_id, row.versions]));
}

async function expiredEvents(sessionIds: string[]): Promise<number> {
  const { rows } = await db!.query<{ n: string }>(
    `SELECT count(*) AS n FROM audit_events WHERE session_id = ANY($1) AND event_type = 'expired'`,
    [sessionIds],
  );
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  [cluster, postgres] = await Promise.all([startRedisCluster(), startPostgresServer()]);
  const databaseUrl = await postgres.createDatabase();
  const env = { REDIS_CLUSTER_NODES: cluster.nodesEnv, DATABASE_URL: databaseUrl };
  // One after the other: two tsx startups at once on a busy machine can outlast the startup bound.
  a = await startInstance(env);
  b = await startInstance(env);
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  for (const bucket of KEYS.buckets) slotOfBucket.set(bucket, await cluster.keySlot(KEYS.deadlines(bucket)));
}, 60_000);

afterEach(async (context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const { service } of [a, b].filter(Boolean)) {
    const tail = service.logs.slice(-15).map((line) => JSON.stringify(line));
    process.stderr.write(`instance ${service.proc.pid}:\n${tail.join('\n')}\n${service.stderr()}\n`);
  }
});

afterAll(async () => {
  await stopAllServices();
  await db?.end();
  await Promise.all([cluster?.close(), postgres?.close()]);
});

describe('on a Redis Cluster', () => {
  it('a switch on instance A reaches a client on instance B (sharded pub/sub)', async () => {
    await createRunning(a.http, 'cluster-cross', 3_600_000);
    const socket = new WebSocket(b.ws);
    const states: SessionView[] = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; state?: SessionView };
      if (message.type === 'STATE' && message.state) states.push(message.state);
    });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'SUBSCRIBE', session_id: 'cluster-cross' }));
    await until(async () => states.length > 0, 5_000, 'the snapshot at B');
    const switched = await callJson(a.http, 'POST', '/v1/sessions/cluster-cross/switch');
    await until(async () => states.some((s) => s.version === switched.version), 5_000, 'the switch at B');
    socket.terminate();
    expect(states.at(-1)).toMatchObject({ event: 'switched', active_participant_id: 'b' });
  });

  it('1,000 sessions over every bucket and every master expire exactly once, each audited once', async () => {
    const ids = Array.from({ length: SESSIONS }, (_, i) => `cluster-expiry-${i}`);
    const masters = new Set(
      await Promise.all(KEYS.buckets.map((bucket) => cluster!.masterPortOf(slotOfBucket.get(bucket)!))),
    );
    expect(new Set(ids.map((id) => KEYS.bucketOf(id))).size).toBe(KEYS.buckets.length);
    expect(masters.size).toBe(3);

    // Half through each instance; deadlines spread over two seconds after the last start.
    await inParallel(ids, 4, (id) =>
      createRunning(Number(id.slice(id.lastIndexOf('-') + 1)) % 2 === 0 ? a.http : b.http, id, 4_000),
    );
    await until(
      async () => (await expiredEvents(ids)) === SESSIONS,
      30_000,
      'every expiry in the audit trail',
    );
    const audited = await auditedVersions(ids);
    for (const id of ids) {
      // created, started, expired: each version once, none missing, none after.
      expect(audited.get(id)).toEqual([1, 2, 3]);
    }
    const stored = await inParallel(ids.slice(0, 100), 16, (id) =>
      callJson(a.http, 'GET', `/v1/sessions/${id}`),
    );
    for (const s of stored) expect(s).toMatchObject({ status: 'expired', version: 3 });

    // The session list reads every bucket's status index, on every master: each session once, in order.
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await callJson<{ sessions: SessionView[]; next_cursor: string | null }>(
        b.http,
        'GET',
        `/v1/sessions?status=expired&limit=500${query}`,
      );
      listed.push(...page.sessions.map((view) => view.session_id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    const ours = listed.filter((id) => id.startsWith('cluster-expiry-'));
    expect(ours).toEqual([...ids].sort());
    expect(listed).toEqual([...listed].sort());
  }, 90_000);

  it("a killed master's replica takes over: 503 for the gap, then commands work and the owed expiries fire once", async () => {
    // Sessions whose bucket lives on one master (not the audit queue's, so the trail is the
    // relay's story here, not BullMQ's reconnect).
    const bullSlot = await cluster!.keySlot(`${KEYS.bullPrefix}:x`);
    const bullMaster = await cluster!.masterPortOf(bullSlot);
    const masterPorts = (await cluster!.masterPorts()).filter((port) => port !== bullMaster);
    const victim = masterPorts[0]!;
    const onVictim: string[] = [];
    for (let i = 0; onVictim.length < 21; i++) {
      const id = `cluster-failover-${i}`;
      if ((await cluster!.masterPortOf(slotOfBucket.get(KEYS.bucketOf(id))!)) === victim) onVictim.push(id);
    }
    const [probeId, ...owed] = onVictim as [string, ...string[]];
    await createRunning(a.http, probeId, 3_600_000);
    // Due a second after the kill: inside the gap.
    await inParallel(owed, 8, (id) => createRunning(b.http, id, 1_000));
    await new Promise((resolve) => setTimeout(resolve, 200));

    const killing = cluster!.killNode(victim);
    const statuses: number[] = [];
    await until(
      async () => {
        const response = await fetch(`${a.http}/v1/sessions/${probeId}/switch`, { method: 'POST' });
        statuses.push(response.status);
        return response.status === 200 && statuses.includes(503);
      },
      20_000,
      'a switch to fail with 503 and then succeed',
    );
    await killing;
    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);

    await until(async () => (await expiredEvents(owed)) === owed.length, 20_000, 'the owed expiries');
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const id of owed) {
      const stored = await callJson(b.http, 'GET', `/v1/sessions/${id}`);
      expect(stored).toMatchObject({ status: 'expired', version: 3 });
    }
    expect(await expiredEvents(owed)).toBe(owed.length);
  }, 60_000);
});
