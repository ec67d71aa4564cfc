// The audit trail end to end, through the real entry point. Distributed: two instances on one
// Redis write 1,000 changes while PostgreSQL is stopped for 30 s, one instance is SIGKILLed
// right after a burst, and a poison record sits in the log; afterwards PostgreSQL holds every
// version of every session exactly once. Embedded: the history outlives a restart.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_QUEUE_NAME } from '../../src/audit/DBWriteQueue.js';
import { stateKeys } from '../../src/state/keys.js';
import { auditEvent } from '../contract/auditStore.contract.js';
import { distributedServers } from '../helpers/distributedServers.js';
import { startHttpService, stopAllServices, type ServiceProcess } from '../helpers/serviceProcess.js';
import { callJson } from '../helpers/http.js';
import { until } from '../helpers/until.js';
import { testDataDir } from '../helpers/testDataDir.js';

interface Instance {
  service: ServiceProcess;
  http: string;
}

const SESSIONS = 20;
/** Created (v1), started (v2), then switches up to this version: 20 × 50 = 1,000 changes. */
const VERSIONS_PER_SESSION = 50;
const OUTAGE_MS = 30_000;
const KEYS = stateKeys();

const started: Instance[] = [];

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const instance = await startHttpService(env);
  started.push(instance);
  return instance;
}

/** One Prometheus sample's value from /metrics (NaN when absent). */
async function metric(instance: Instance, name: string): Promise<number> {
  const text = await (await fetch(`${instance.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function chessClock(sessionId: string): unknown {
  return {
    session_id: sessionId,
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
    total_time_ms: 3_600_000,
    increment_ms: 1_000,
  };
}

/** A record as the state scripts append it, that PostgreSQL refuses (text cannot hold U+0000). */
const POISON_RECORD = JSON.stringify({ ...auditEvent('poison', 1), actor: 'mallory\u0000' });

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') {
    // What the instances said is the first thing to read when this fails.
    for (const { service } of started) {
      const tail = service.logs.slice(-15).map((line) => JSON.stringify(line));
      process.stderr.write(`instance ${service.proc.pid}:\n${tail.join('\n')}\n${service.stderr()}\n`);
    }
  }
  await stopAllServices();
});

describe('distributed audit trail', () => {
  const startServers = distributedServers();

  it('1,000 changes with PostgreSQL stopped for 30 s, an instance SIGKILLed and a poison record: every version exactly once', async () => {
    const { redis, postgres, env } = await startServers();
    const a = await startInstance(env);
    const b = await startInstance(env);
    const instances = [a, b];
    const sessionIds = Array.from({ length: SESSIONS }, (_, i) => `audit-${i}`);
    const versions = new Map<string, number>();

    // Every session gets its next change from alternating instances; all must succeed.
    const round = async (via: Instance[], offset: number): Promise<void> => {
      await Promise.all(
        sessionIds.map(async (id, i) => {
          const instance = via[(i + offset) % via.length]!;
          const view = await callJson(instance.http, 'POST', `/v1/sessions/${id}/switch`);
          versions.set(id, view.version);
        }),
      );
    };

    for (const [i, id] of sessionIds.entries()) {
      await callJson(instances[i % 2]!.http, 'POST', '/v1/sessions', chessClock(id));
      versions.set(
        id,
        (await callJson(instances[(i + 1) % 2]!.http, 'POST', `/v1/sessions/${id}/start`)).version,
      );
    }

    // The poison record goes in as the scripts would append it, ahead of most of the load.
    const probe = new Redis(redis.url);
    await probe.xadd(KEYS.auditLog(0), '*', 'r', POISON_RECORD);

    let roundNo = 0;
    for (; roundNo < 12; roundNo++) await round(instances, roundNo);

    // PostgreSQL goes away for 30 s under load: switches keep succeeding, the backlog waits.
    await postgres.stop();
    const outageEnds = Date.now() + OUTAGE_MS;
    const outageRounds = 16;
    for (let i = 0; i < outageRounds; i++, roundNo++) {
      await round(instances, roundNo);
      await sleep(Math.max(0, (outageEnds - Date.now()) / (outageRounds - i)));
    }
    const backlogDuringOutage = await metric(b, 'synckairos_audit_queue_depth');
    expect(backlogDuringOutage).toBeGreaterThan(0);
    await postgres.start();

    // The poison record: refused as data, so kept as failed at once and counted; the rest goes on.
    await until(
      async () => ((await metric(b, 'synckairos_audit_failed_records')) === 1 ? true : undefined),
      60_000,
      'the poison record to be kept as failed',
    );
    const failuresCounted =
      (await metric(a, 'synckairos_audit_failures_total')) +
      (await metric(b, 'synckairos_audit_failures_total'));
    expect(failuresCounted).toBe(1);
    const queueConnection = probe.duplicate({ maxRetriesPerRequest: null });
    const queue = new Queue(AUDIT_QUEUE_NAME, { connection: queueConnection, prefix: KEYS.bullPrefix });
    const failedJobs = await queue.getFailed();
    expect(failedJobs).toHaveLength(1);
    expect(failedJobs[0]!.attemptsMade).toBe(1);
    expect(failedJobs[0]!.data).toEqual({ record: POISON_RECORD });
    await queue.close();
    queueConnection.disconnect();

    // A burst, then instance A is killed at once: what it had read but not queued is not lost.
    for (let i = 0; i < 10; i++, roundNo++) await round(instances, roundNo);
    a.service.proc.kill('SIGKILL');
    await a.service.exit;
    while (roundNo < VERSIONS_PER_SESSION - 2) await round([b], roundNo++);

    for (const id of sessionIds) expect(versions.get(id)).toBe(VERSIONS_PER_SESSION);

    // Every version of every session exactly once; the poison record never became a row.
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    try {
      const rows = await until(
        async () => {
          const result = await db.query<{ session_id: string; version: number }>(
            'SELECT session_id, version FROM audit_events ORDER BY session_id, version',
          );
          return result.rows.length >= SESSIONS * VERSIONS_PER_SESSION ? result.rows : undefined;
        },
        90_000,
        'the audit trail to hold all 1,000 changes',
      );
      expect(rows).toHaveLength(SESSIONS * VERSIONS_PER_SESSION);
      const expected = Array.from({ length: VERSIONS_PER_SESSION }, (_, i) => i + 1);
      for (const id of sessionIds) {
        expect(rows.filter((row) => row.session_id === id).map((row) => row.version)).toEqual(expected);
      }
      const summaries = await db.query<{ session_id: string; last_version: number }>(
        'SELECT session_id, last_version FROM audit_sessions ORDER BY session_id',
      );
      expect(summaries.rows.every((row) => row.last_version === VERSIONS_PER_SESSION)).toBe(true);
      expect(summaries.rows.map((row) => row.session_id).sort()).toEqual([...sessionIds].sort());
    } finally {
      await db.end();
    }

    // The surviving instance serves the history, oldest first.
    const history = await callJson<{ events: Array<{ version: number }> }>(
      b.http,
      'GET',
      `/v1/sessions/${sessionIds[0]}/events?limit=100`,
    );
    expect(history.events.map((event) => event.version)).toEqual(
      Array.from({ length: VERSIONS_PER_SESSION }, (_, i) => i + 1),
    );
    probe.disconnect();
  }, 240_000);
});

describe('embedded audit trail', () => {
  it('the history outlives a restart of the service', async () => {
    const dataDir = testDataDir();
    const first = await startInstance({ DATA_DIR: dataDir });
    await callJson(first.http, 'POST', '/v1/sessions', chessClock('kept'));
    await callJson(first.http, 'POST', '/v1/sessions/kept/start');
    for (let i = 0; i < 5; i++) await callJson(first.http, 'POST', '/v1/sessions/kept/switch');
    const expected = [1, 2, 3, 4, 5, 6, 7];
    const eventsOf = async (instance: Instance) =>
      (
        await callJson<{ events: Array<{ version: number; event: string }> }>(
          instance.http,
          'GET',
          '/v1/sessions/kept/events',
        )
      ).events;
    await until(
      async () => ((await eventsOf(first)).length === expected.length ? true : undefined),
      20_000,
      'the embedded writer to record every version',
    );
    first.service.proc.kill('SIGTERM');
    expect((await first.service.exit).code).toBe(0);

    const second = await startInstance({ DATA_DIR: dataDir });
    // The session itself is kept in DATA_DIR too, at its last version.
    expect((await callJson(second.http, 'GET', '/v1/sessions/kept')).version).toBe(7);
    const events = await until(
      async () => {
        const list = await eventsOf(second);
        return list.length > 0 ? list : undefined;
      },
      20_000,
      'the history after the restart',
    );
    expect(events.map((event) => event.version)).toEqual(expected);
    expect(events.map((event) => event.event)).toEqual([
      'created',
      'started',
      'switched',
      'switched',
      'switched',
      'switched',
      'switched',
    ]);
  }, 90_000);
});
