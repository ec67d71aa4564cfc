// `npm run bench [-- --quick] [-- --profile] [-- --only row,row]`: measures every performance target of SyncKairos
// against real processes on loopback — a private redis-server, server instances (the real entry
// point), a bare floor server, and load workers — and writes bench/results/<date>.json and the
// table in BENCHMARKS.md. Everything it starts, it stops; every step is bounded.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { SyncEngine } from '../src/engine/SyncEngine.js';
import { RedisStateStore } from '../src/state/RedisStateStore.js';
import { systemClock } from '../src/state/SystemClock.js';
import { stateKeys } from '../src/state/keys.js';
import { connectRedis, createRedisConnection } from '../src/state/redisConnection.js';
import { startRedisCluster, type RedisClusterHandle } from '../tests/helpers/redisCluster.js';
import { startPostgresServer, type PostgresServerHandle } from '../tests/helpers/postgresServer.js';
import { startRedisServer, type RedisServerHandle } from '../tests/helpers/redisServer.js';
import { startService } from '../tests/helpers/serviceProcess.js';
import { startCpuBurner } from './lib/cpuBurner.js';
import { startBenchReceiver } from './lib/receiver.js';
import { mergeEncoded, newHistogram, recordMs, summarize, type LatencySummary } from './lib/hdr.js';
import { monoMs, sleep } from './lib/load.js';
import {
  ROOT,
  Worker,
  childPids,
  cpuMs,
  findPid,
  pinToCpus,
  treeCpuMs,
  startHttpStack,
  rssBytes,
  startFloorServer,
  startInstance,
  stopAll,
  stopProcess,
  type FloorServer,
  type Instance,
} from './lib/processes.js';
import { foreignCores, snapshot, waitForQuiet } from './lib/machine.js';
import { rewriteBenchmarksMd, type HttpLayersResult, type RowResult, type RunResult } from './lib/report.js';
import {
  layerShares,
  layersMarkdown,
  profileMarkdown,
  summarizeProfile,
  type LayerRule,
  type ProfileSummary,
} from './profileSummary.js';
import { FULL_APP_DEPTH, HTTP_LAYER_RULES, LAYERS, WS_LAYER_RULES } from './lib/layers.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    priority: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'Usage: npm run bench [-- --quick] [-- --profile] [-- --only http-switch,ws-switch,...]\n' +
      '  --quick    smaller counts and shorter runs (about 6 minutes on 2 cores)\n' +
      '  --profile  run every server instance under --cpu-prof and summarize where its time goes\n' +
      '  --only     rows by id: http-switch, embedded-switch, http-layers (server CPU per REST switch,\n' +
      '             layer by layer, Express and Fastify), ws-switch, webhook-switch, webhook-worker, delivery,\n' +
      '             redis-cluster, fanout, expiry, phases, offset, memory, session-list, connections\n' +
      '  --priority run every process of the benchmark at nice -10 (needs root), so that other work\n' +
      '             on the machine disturbs the figures less (the output says so)\n' +
      '             (the profiler costs a few percent: figures of such a run are not the reference)\n',
  );
  process.exit(0);
}

const QUICK = args.quick;
export const ROWS = [
  'http-switch',
  'embedded-switch',
  'http-layers',
  'ws-switch',
  'webhook-switch',
  'webhook-worker',
  'delivery',
  'redis-cluster',
  'fanout',
  'expiry',
  'phases',
  'offset',
  'memory',
  'session-list',
  'connections',
] as const;
type RowId = (typeof ROWS)[number];
const only = args.only ? new Set(args.only.split(',')) : null;
const wanted = (row: RowId): boolean => only === null || only.has(row);

/** Sizes of each mode; quick mode says in the output that it is quick. */
const SIZE = QUICK
  ? {
      switchSessions: 1000,
      switchRate: 2000,
      warmupMs: 1500,
      durationMs: 5000,
      closedConcurrency: [64, 256],
      closedDurationMs: 3000,
      deliverySessions: 200,
      webhookRate: 100,
      webhookPhaseMs: 5000,
      viewers: 2000,
      fanoutReps: 8,
      expirySessions: 2000,
      expiryLeadMs: 3000,
      expiryWindowMs: 3000,
      offsetTrials: 20,
      memorySessions: 10_000,
      listSessions: 100_000,
      connections: 3000,
      connectionsHoldMs: 6000,
    }
  : {
      switchSessions: 1000,
      switchRate: 2000,
      warmupMs: 3000,
      durationMs: 20_000,
      closedConcurrency: [32, 128, 512],
      closedDurationMs: 8000,
      deliverySessions: 200,
      webhookRate: 100,
      webhookPhaseMs: 15_000,
      viewers: 10_000,
      fanoutReps: 40,
      expirySessions: 10_000,
      expiryLeadMs: 10_000,
      expiryWindowMs: 10_000,
      offsetTrials: 50,
      memorySessions: 100_000,
      listSessions: 100_000,
      connections: 15_000,
      connectionsHoldMs: 12_000,
    };

/** Four loopback source addresses: more than one address's ~28k client ports when needed. */
const SOURCE_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const JWT_SECRET = `bench-${Math.random().toString(36).slice(2)}-${Date.now()}`;
const HEARTBEAT_MS = 5000;

/** What every instance runs with: production, auth on, limits raised for a load test. */
function instanceEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    JWT_SECRET,
    WS_MESSAGES_PER_SECOND: '1000000',
    WS_BURST_MESSAGES: '1000000',
    WS_MAX_CONNECTIONS_PER_ADDRESS: '1000000',
    // The limiter stays on (its Redis round trip is part of every REST request) but never trips.
    RATE_LIMIT_MAX: '1000000',
    ...overrides,
  };
}

const runStartedAt = new Date();
const runId = runStartedAt.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
const RESULTS_DIR = path.join(ROOT, 'bench/results');
const profileRoot = path.join(RESULTS_DIR, 'profiles', runId);

function log(message: string): void {
  const elapsed = ((Date.now() - runStartedAt.getTime()) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[${elapsed}s] ${message}\n`);
}

interface Stack {
  redis: RedisServerHandle;
  redisClient: Redis;
  instances: Instance[];
}

const profiles: Record<string, ProfileSummary[]> = {};
/** With --profile: the measured window of a row (CLOCK_MONOTONIC µs) and how many switches it held. */
const profileWindows: Record<
  string,
  { fromUs: number; toUs: number; units: number; rules: readonly LayerRule[] }
> = {};
/** Each such row's main-thread busy time charged to the layers of its path (Markdown). */
const profileLayers: string[] = [];
/** Cores other processes used during each row (and just before it): other work on the machine skews it. */
const contention: Record<string, { foreignCores: number; beforeCores: number }> = {};
const QUIET_THRESHOLD_CORES = 0.25;
/** Every redis-server this run started, so a failure or a signal stops them too. */
const redisServers = new Set<RedisServerHandle | RedisClusterHandle>();
/** The PostgreSQL servers this run started (the audit database of the webhook row). */
const postgresServers = new Set<PostgresServerHandle>();

async function startRedis(): Promise<RedisServerHandle> {
  const handle = await startRedisServer();
  redisServers.add(handle);
  return handle;
}

async function closeRedis(handle: RedisServerHandle): Promise<void> {
  redisServers.delete(handle);
  await handle.close();
}

/**
 * A fresh private redis-server and `count` instances for one row; all stopped after it. With
 * `redisCluster` the instances run on a private Redis Cluster instead (the redis-server stays idle).
 */
async function withStack<T>(
  row: RowId,
  count: number,
  env: Record<string, string>,
  run: (stack: Stack) => Promise<T>,
  options: { redisCluster?: boolean } = {},
): Promise<T> {
  const redis = await startRedis();
  const cluster = options.redisCluster ? await startRedisCluster() : null;
  if (cluster !== null) redisServers.add(cluster);
  const clusterEnv: Record<string, string> =
    cluster === null ? {} : { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodesEnv };
  const redisClient = new Redis(redis.url, { lazyConnect: true });
  await redisClient.connect();
  const quiet = await waitForQuiet(QUIET_THRESHOLD_CORES, QUICK ? 3000 : 45_000);
  if (quiet.foreign >= QUIET_THRESHOLD_CORES) {
    log(`  the machine is busy with other work (${quiet.foreign.toFixed(2)} cores); measuring anyway`);
  }
  const profileDir = args.profile ? path.join(profileRoot, row) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const instances: Instance[] = [];
  try {
    for (let i = 0; i < count; i++) {
      instances.push(
        await startInstance({
          name: `${row}-${String.fromCharCode(65 + i)}`,
          redisUrl: redis.url,
          env: instanceEnv({ ...env, ...clusterEnv }),
          profileDir,
        }),
      );
    }
    const from = snapshot();
    const result = await run({ redis, redisClient, instances });
    contention[row] = {
      foreignCores: Math.round(foreignCores(from, snapshot()) * 100) / 100,
      beforeCores: Math.round(quiet.foreign * 100) / 100,
    };
    return result;
  } finally {
    await Promise.all(instances.map((instance) => stopProcess(instance.proc)));
    redisClient.disconnect();
    await closeRedis(redis);
    if (cluster !== null) {
      redisServers.delete(cluster);
      await cluster.close();
    }
    if (profileDir) {
      // Of each instance's per-thread profiles, the main thread's is the busiest.
      profiles[row] = instances.map((instance) => {
        const dir = path.join(profileDir, instance.name);
        const summaries = readdirSync(dir)
          .filter((file) => file.endsWith('.cpuprofile'))
          .map((file) => summarizeProfile(path.join(dir, file), 25));
        return summaries.reduce((a, b) => (b.busyMs > a.busyMs ? b : a));
      });
      const window = profileWindows[row];
      if (window && profiles[row][0]) {
        const layers = layerShares(profiles[row][0].file, window.rules, window, window.units);
        profileLayers.push(
          layersMarkdown(
            `${row}: the measured window, by layer (${window.units} switches)`,
            layers,
            'switch',
          ),
        );
      }
    }
  }
}

async function adminToken(): Promise<string> {
  return new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(JWT_SECRET));
}

const ids = (prefix: string, count: number, from = 0): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(from + i).padStart(6, '0')}`);

/** Creates (and starts) sessions through the service's REST API from both workers. */
async function createSessions(
  workers: Worker[],
  httpUrl: string,
  token: string,
  sessionIds: string[],
  totalTimeMs: number | number[],
  start: boolean,
  phases?: readonly { name: string; remaining_ms: number }[],
): Promise<{ viewBytes: number }> {
  const parts = workers.map((_, w) => sessionIds.filter((_, i) => i % workers.length === w));
  const banks = workers.map((_, w) =>
    Array.isArray(totalTimeMs) ? totalTimeMs.filter((_, i) => i % workers.length === w) : totalTimeMs,
  );
  const results = await Promise.all(
    workers.map((worker, w) =>
      worker.run<{ failures: Record<string, number>; viewBytes: number }>(
        'createSessions',
        { httpUrl, token, ids: parts[w], totalTimeMs: banks[w], start, concurrency: 24, phases },
        600_000,
      ),
    ),
  );
  for (const result of results) {
    if (Object.keys(result.failures).length > 0)
      throw new Error(`creating sessions failed: ${JSON.stringify(result.failures)}`);
  }
  return { viewBytes: results[0]!.viewBytes };
}

async function metricsOf(instance: Instance): Promise<string> {
  const res = await fetch(`${instance.httpUrl}/metrics`);
  return res.text();
}

function metricValue(text: string, name: string, labels: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{${labels}}`) || (labels === '' && line.startsWith(`${name} `))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

/** Every command Redis has run since it started (INFO commandstats), by command, INFO included. */
async function redisCalls(redis: Redis): Promise<Record<string, number>> {
  const stats = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of stats.matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/** Commands per switch between two readings: the total, and each command's share. */
function callsPerSwitch(from: Record<string, number>, to: Record<string, number>, switches: number): string {
  const per = Object.entries(to)
    .map(([name, calls]) => [name, (calls - (from[name] ?? 0)) / switches] as const)
    .filter(([name, x]) => x >= 0.005 && name !== 'info')
    .sort((a, b) => b[1] - a[1]);
  const total = per.reduce((sum, [, x]) => sum + x, 0);
  return `${total.toFixed(2)} (${per.map(([name, x]) => `${name} ${x.toFixed(2)}`).join(', ')})`;
}

function ratio(measured: number, floor: number): number {
  return floor > 0 ? Math.round((measured / floor) * 10) / 10 : Number.NaN;
}

const fmt = (ms: number): string => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
const lat = (s: LatencySummary): string =>
  `p50 ${fmt(s.p50Ms)} · p95 ${fmt(s.p95Ms)} · p99 ${fmt(s.p99Ms)} · max ${fmt(s.maxMs)} ms`;

/** Runs one row; a row that fails is reported as failed (with why) and the run goes on. */
async function guarded(
  rows: RowResult[],
  row: Pick<RowResult, 'id' | 'what' | 'target'>,
  run: () => Promise<void>,
): Promise<void> {
  try {
    await run();
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
    log(`  ${row.id} FAILED: ${reason}`);
    rows.push({
      ...row,
      measured: `did not complete: ${reason}`,
      floor: '—',
      ratio: '—',
      met: false,
      data: {},
      notes: [],
    });
  }
}

/** The open-loop HTTP switch load of the switch rows, on sessions created and started beforehand. */
async function measureHttpSwitch(w0: Worker, token: string, a: Instance, sessionIds: string[]) {
  const cpu0 = cpuMs(a.pid);
  const wall0 = monoMs();
  const r = await w0.run<{
    histogram: string;
    lag: string;
    statuses: Record<string, number>;
    completed: number;
    total: number;
    achievedPerSec: number;
    maxInFlight: number;
  }>('httpSwitch', {
    httpUrl: a.httpUrl,
    token,
    sessionIds,
    ratePerSec: SIZE.switchRate,
    warmupMs: SIZE.warmupMs,
    durationMs: SIZE.durationMs,
    sockets: 64,
  });
  const cpuUsedMs = cpuMs(a.pid) - cpu0;
  const wall1 = monoMs();
  const serverCpu = cpuUsedMs / (wall1 - wall0);
  const cpuPerSwitchMs = cpuUsedMs / r.total;
  const s = summarize(mergeEncoded([r.histogram]));
  const lag = summarize(mergeEncoded([r.lag]));
  return { r, s, lag, serverCpu, cpuPerSwitchMs, fromUs: wall0 * 1000, toUs: wall1 * 1000 };
}

/** Resolves once the embedded audit trail has recorded the session (its PGlite is open and migrated). */
async function waitForAuditTrail(a: Instance, token: string, sessionId: string): Promise<void> {
  const deadline = monoMs() + 120_000;
  while (monoMs() < deadline) {
    const res = await fetch(`${a.httpUrl}/v1/sessions/${sessionId}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.ok && ((await res.json()) as { events: unknown[] }).events.length > 0) return;
    await sleep(500);
  }
  throw new Error('the embedded audit trail did not open within 120 s');
}

/** Requests of the webhook admin routes, as the admin token. */
async function adminCall(a: Instance, token: string, method: string, route: string, body?: unknown) {
  return fetch(`${a.httpUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Polls `probe` every 250 ms until it holds; false when `boundMs` ran out first. */
async function pollUntil(probe: () => Promise<boolean>, boundMs: number): Promise<boolean> {
  const deadline = monoMs() + boundMs;
  while (monoMs() < deadline) {
    if (await probe()) return true;
    await sleep(250);
  }
  return false;
}

const WEBHOOK_ENDPOINTS = 10;
const WEBHOOK_SESSIONS = 200;
/** Instances read the endpoint list at most this stale (WebhookService's cache), plus a margin. */
const ENDPOINT_CACHE_WAIT_MS = 1_500;
const WEBHOOK_DRAIN_BOUND_MS = 90_000;

/** CPU ms of the parts a webhook row runs. */
interface CpuByPart {
  instance: number;
  worker: number;
  postgres: number;
  redis: number;
  receiver: number;
}

const CPU_PART_NAMES: Record<keyof CpuByPart, string> = {
  instance: 'instance',
  worker: 'worker',
  postgres: 'PostgreSQL',
  redis: 'Redis',
  receiver: 'receiver',
};

const CPU_PARTS = Object.keys(CPU_PART_NAMES) as (keyof CpuByPart)[];

function byPart(value: (part: keyof CpuByPart) => number): CpuByPart {
  return {
    instance: value('instance'),
    worker: value('worker'),
    postgres: value('postgres'),
    redis: value('redis'),
    receiver: value('receiver'),
  };
}

/**
 * One instance in distributed mode with the audit trail on PostgreSQL; switches over WebSocket
 * at a fixed rate, without endpoints and with 10 (`["*"]`) to a receiver process at nice 19,
 * alternately, twice each. Between phases the queued messages go out (or are dropped once their
 * endpoint is deleted) so that a phase without endpoints is not measured beside a backlog. The
 * default row ends with a control phase (the deliveries' CPU burnt at nice 19, no endpoints); the
 * worker row binds the delivering side and the serving side to a CPU each.
 */
async function measureWebhookSwitch(
  rows: RowResult[],
  w0: Worker,
  workers: Worker[],
  token: string,
  deliveryIn: 'instance' | 'worker',
): Promise<void> {
  const rate = SIZE.webhookRate;
  const row = deliveryIn === 'worker' ? 'webhook-worker' : 'webhook-switch';
  // The worker row places the deliveries as a deployment would, on other machines: here the
  // worker, PostgreSQL and the receiver get one CPU, the instance, its Redis and the load the other.
  const pinned = deliveryIn === 'worker' && os.availableParallelism() >= 2;
  const where =
    deliveryIn === 'worker'
      ? `delivery in a webhook-worker process (WEBHOOK_DELIVERY=off, the worker at its default nice 10)${pinned ? ' on a CPU of its own with PostgreSQL and the receiver' : ''}`
      : 'delivery in the instance (its delivery thread, at nice 10)';
  log(
    `${row}: 1 instance, audit on PostgreSQL, ${where}, ${WEBHOOK_SESSIONS} sockets at ${rate}/s; without and with ${WEBHOOK_ENDPOINTS} endpoints, ${SIZE.webhookPhaseMs / 1000} s each, twice`,
  );
  const postgres = await startPostgresServer();
  postgresServers.add(postgres);
  const receiver = await startBenchReceiver();
  try {
    const env: Record<string, string> = {
      DATABASE_URL: await postgres.createDatabase(),
      WEBHOOK_ALLOW_PRIVATE: 'true',
      ...(deliveryIn === 'worker' ? { WEBHOOK_DELIVERY: 'off' } : {}),
    };
    await withStack(row, 1, env, async ({ instances, redis }) => {
      const [a] = instances as [Instance];
      const deliverer =
        deliveryIn === 'worker'
          ? startService({ ...env, REDIS_URL: redis.url, WEBHOOK_WORKER_PORT: '0' }, 'src/webhookWorker.ts')
          : null;
      await deliverer?.waitForLog((line) => line.msg === 'webhook worker: delivering');
      const postmaster = findPid(['postgres', `-p ${postgres.port} `]);
      const redisPid = findPid(['redis-server', `:${new URL(redis.url).port}`]);
      const servicePids = [
        a.pid,
        ...(redisPid === null ? [] : [redisPid]),
        ...workers.map((w) => w.proc.pid!),
      ];
      if (pinned) {
        // The postmaster first: the backends it forks later are on its CPU.
        const placed =
          postmaster !== null &&
          deliverer !== null &&
          pinToCpus([postmaster, ...childPids(postmaster), deliverer.proc.pid!, receiver.pid], '1') &&
          pinToCpus(servicePids, '0');
        if (!placed) throw new Error('could not place the processes on their CPUs (taskset)');
      }
      try {
        // Where each phase's CPU goes: the instance, the worker, PostgreSQL (postmaster and
        // backends), Redis, the receiver.
        const cpuNow = (): CpuByPart => ({
          instance: cpuMs(a.pid),
          worker: deliverer === null ? 0 : cpuMs(deliverer.proc.pid!),
          postgres: postmaster === null ? Number.NaN : treeCpuMs(postmaster),
          redis: redisPid === null ? Number.NaN : cpuMs(redisPid),
          receiver: cpuMs(receiver.pid),
        });
        const backlog = async (): Promise<number> =>
          metricValue(await metricsOf(a), 'synckairos_webhook_backlog', '');
        // The audit database migrates in the background; the webhook routes answer once it has.
        const ready = await pollUntil(
          async () => (await adminCall(a, token, 'GET', '/v1/webhooks')).ok,
          60_000,
        );
        if (!ready) throw new Error('the webhook routes did not answer within 60 s');
        const sessionIds = ids('wh', WEBHOOK_SESSIONS);
        await createSessions(workers, a.httpUrl, token, sessionIds, 3_600_000, true);
        const phases: {
          endpoints: number;
          latency: LatencySummary;
          histogram: string;
          replies: Record<string, number>;
          switches: number;
          deliveredDuring: number;
          deliveredAfter: number;
          drainMs: number;
          drained: boolean;
          cpuMs: CpuByPart;
          wallMs: number;
        }[] = [];
        type Phase = (typeof phases)[number];
        const runPhase = async (endpoints: number, measured: boolean, burnCores = 0): Promise<Phase> => {
          const created: string[] = [];
          for (let i = 0; i < endpoints; i++) {
            const res = await adminCall(a, token, 'POST', '/v1/webhooks', {
              url: receiver.url,
              events: ['*'],
            });
            if (res.status !== 201)
              throw new Error(`creating an endpoint: ${res.status} ${await res.text()}`);
            created.push(((await res.json()) as { id: string }).id);
          }
          await sleep(ENDPOINT_CACHE_WAIT_MS);
          const burner = burnCores > 0 ? await startCpuBurner(burnCores) : null;
          const received0 = await receiver.received();
          const cpu0 = cpuNow();
          const from = monoMs();
          const r = await w0
            .run<{ histogram: string; replies: Record<string, number>; total: number }>('wsSwitchRate', {
              wsUrl: a.wsUrl,
              token,
              sessionIds,
              ratePerSec: rate,
              warmupMs: SIZE.warmupMs,
              durationMs: measured ? SIZE.webhookPhaseMs : SIZE.warmupMs,
            })
            .finally(() => burner?.stop());
          const deliveredDuring = (await receiver.received()) - received0;
          const drainFrom = monoMs();
          const drained = await pollUntil(async () => (await backlog()) === 0, WEBHOOK_DRAIN_BOUND_MS);
          const drainMs = Math.round(monoMs() - drainFrom);
          const cpu1 = cpuNow();
          const wallMs = monoMs() - from;
          const deliveredAfter = (await receiver.received()) - received0 - deliveredDuring;
          for (const id of created) await adminCall(a, token, 'DELETE', `/v1/webhooks/${id}`);
          // What is left (bound reached) is dropped at its turn, its endpoint gone.
          if (!drained) await pollUntil(async () => (await backlog()) === 0, WEBHOOK_DRAIN_BOUND_MS);
          return {
            endpoints,
            latency: summarize(mergeEncoded([r.histogram])),
            histogram: r.histogram,
            replies: r.replies,
            switches: r.total,
            deliveredDuring,
            deliveredAfter,
            drainMs,
            drained,
            cpuMs: byPart((part) => cpu1[part] - cpu0[part]),
            wallMs,
          };
        };
        // A first, unmeasured phase with endpoints warms what only deliveries use (the JIT of their
        // code, the database pool's and the receiver's connections), as the switches' own warm-up does.
        const warmUp = await runPhase(WEBHOOK_ENDPOINTS, false);
        log(
          `  warm-up with ${WEBHOOK_ENDPOINTS} endpoints: ${warmUp.deliveredDuring + warmUp.deliveredAfter} deliveries`,
        );
        for (const endpoints of [0, WEBHOOK_ENDPOINTS, 0, WEBHOOK_ENDPOINTS]) {
          const phase = await runPhase(endpoints, true);
          phases.push(phase);
          log(
            `  ${endpoints} endpoints: ${lat(phase.latency)}; replies ${JSON.stringify(phase.replies)}; ${phase.deliveredDuring} deliveries during, ${phase.deliveredAfter} after (${phase.drained ? `drained in ${phase.drainMs} ms` : 'not drained within the bound'})`,
          );
        }
        const without = phases.filter((phase) => phase.endpoints === 0);
        const withHooks = phases.filter((phase) => phase.endpoints > 0);
        const off = summarize(mergeEncoded(without.map((phase) => phase.histogram)));
        const on = summarize(mergeEncoded(withHooks.map((phase) => phase.histogram)));
        const offP99s = without.map((phase) => phase.latency.p99Ms);
        const noiseMs = Math.max(...offP99s) - Math.min(...offP99s);
        const delivered = withHooks.reduce(
          (sum, phase) => sum + phase.deliveredDuring + phase.deliveredAfter,
          0,
        );
        // CPU a delivery costs: what the phases with endpoints used beyond those without, per delivery.
        const cpuOf = (list: Phase[], part: keyof CpuByPart): number =>
          list.reduce((sum, phase) => sum + phase.cpuMs[part], 0);
        const wallOf = (list: Phase[]): number => list.reduce((sum, phase) => sum + phase.wallMs, 0);
        const cpuPerDelivery = byPart(
          (part) => (cpuOf(withHooks, part) - cpuOf(without, part)) / Math.max(delivered, 1),
        );
        // The control (the default row only; the worker row's deliveries have a CPU of their own):
        // no endpoints, and instead as much CPU as the deliveries added, burnt at nice 19.
        const extraCores = CPU_PARTS.reduce(
          (sum, part) =>
            sum + cpuOf(withHooks, part) / wallOf(withHooks) - cpuOf(without, part) / wallOf(without),
          0,
        );
        let control: { cores: number; latency: LatencySummary } | null = null;
        if (deliveryIn === 'instance' && extraCores > 0) {
          const phase = await runPhase(0, true, extraCores);
          control = { cores: extraCores, latency: phase.latency };
          log(`  control, no endpoints, ${fmt(extraCores)} cores burnt at nice 19: ${lat(phase.latency)}`);
        }
        const errors = phases.flatMap((phase) => Object.keys(phase.replies).filter((k) => k !== 'ACK'));
        rows.push({
          id: row,
          what: `\`switch\` over WebSocket with ${WEBHOOK_ENDPOINTS} webhook endpoints (\`["*"]\`) against none, 1 instance, audit on PostgreSQL, ${where} (${WEBHOOK_SESSIONS} sockets at ${rate}/s)`,
          target: 'p99 unchanged: within the noise of the runs without',
          measured: `without: ${lat(off)}; with: ${lat(on)}; ${delivered} deliveries`,
          floor: `the runs without endpoints: p99 ${offP99s.map(fmt).join(' / ')} ms (noise ${fmt(noiseMs)} ms)${control === null ? '' : `; control, the same CPU burnt at nice 19 without webhooks: p99 ${fmt(control.latency.p99Ms)} ms`}`,
          ratio: `p50 ×${ratio(on.p50Ms, off.p50Ms)} · p99 ×${ratio(on.p99Ms, off.p99Ms)}${control === null ? '' : ` (control p99 ×${ratio(control.latency.p99Ms, off.p99Ms)})`}`,
          met: on.p99Ms <= off.p99Ms + noiseMs && errors.length === 0,
          data: {
            without: off,
            with: on,
            noiseMs,
            cpuPerDeliveryMs: cpuPerDelivery,
            extraCores,
            control,
            pinned,
            phases: phases.map((phase) => ({ ...phase, histogram: undefined })),
          },
          notes: [
            `phases in turn, after an unmeasured warm-up with endpoints: ${phases.map((phase) => `${phase.endpoints} endpoints p99 ${fmt(phase.latency.p99Ms)} ms`).join(', ')}; met when the p99 of the runs with endpoints is within that of the runs without plus the spread between those`,
            `deliveries to a node:http receiver in a process of its own at nice 19 (it stands for the subscribers' servers; 200 at once): ${withHooks.map((phase) => `${phase.deliveredDuring} during the phase, ${phase.deliveredAfter} after it (${phase.drained ? `backlog empty ${phase.drainMs} ms after the load` : 'backlog not empty within the bound'})`).join('; ')}`,
            `CPU per delivery beyond the runs without endpoints (the phases' totals, load and drain): ${CPU_PARTS.map((part) => `${CPU_PART_NAMES[part]} ${fmt(cpuPerDelivery[part])} ms`).join(', ')}, ${fmt(extraCores)} cores in all; per phase (${CPU_PARTS.map((part) => CPU_PART_NAMES[part]).join(' / ')} ms): ${phases.map((phase) => `${phase.endpoints} endpoints ${CPU_PARTS.map((part) => Math.round(phase.cpuMs[part])).join(' / ')}`).join(', ')}`,
            deliveryIn === 'worker'
              ? `offered: ${rate * WEBHOOK_ENDPOINTS} messages/s while the switches run; the instance only queues them, one webhook worker process delivers them at nice 10 (WEBHOOK_WORKER_NICE's default), the deployment docs/webhooks.md recommends for webhook-heavy loads; ${pinned ? 'as in such a deployment, where the worker, the database and the subscribers run on other machines, they share CPU 1 here, and the instance, its Redis and the load generators CPU 0 (taskset), in every phase' : 'on the same cores as the instance (this machine has one CPU)'}`
              : `offered: ${rate * WEBHOOK_ENDPOINTS} messages/s while the switches run; the delivery runs in the instance that serves the switches (the default: a thread of its own at nice 10), on the same cores, so what it costs shows up in their latency, which is the point of the row`,
            ...(control === null
              ? []
              : [
                  `control: a last phase without endpoints, while a process at nice 19 burns the ${fmt(control.cores)} cores the deliveries added, in 0.3 ms slices, touching nothing else: p99 ${fmt(control.latency.p99Ms)} ms against ${fmt(off.p99Ms)} without and ${fmt(on.p99Ms)} with webhooks; what that much low-priority CPU costs the switches on these cores, whatever the code that uses it`,
                ]),
          ],
        });
      } finally {
        if (deliverer !== null) await stopProcess(deliverer.proc);
        // The load generators serve the rows after this one on every CPU again.
        if (pinned)
          pinToCpus(
            workers.map((w) => w.proc.pid!),
            `0-${os.availableParallelism() - 1}`,
          );
      }
    });
  } finally {
    await receiver.close();
    postgresServers.delete(postgres);
    await postgres.close();
  }
}

/** Offered rate of the layer stacks: one that every stack sustains even on a busy machine. */
const LAYERS_RATE_PER_SEC = 1000;

/**
 * Server CPU per switch of each stack (bench/httpStacks.ts): the bare node:http floor, Express and
 * Fastify at each depth, and the service's own (Fastify) app. Every stack runs at once (idle but
 * for its turn) on one Redis, and the load visits them in turn, round after round: other work on
 * the machine changes slowly against one turn, so it weighs on every stack alike, and each stack's
 * figure is the median of its rounds.
 */
async function measureHttpLayers(worker: Worker, token: string): Promise<HttpLayersResult> {
  const plan: { framework: 'node' | 'express' | 'fastify'; depth: number }[] = [
    { framework: 'node', depth: 0 },
    ...LAYERS.map((_, i) => ({ framework: 'express' as const, depth: i + 1 })),
    ...LAYERS.map((_, i) => ({ framework: 'fastify' as const, depth: i + 1 })),
    { framework: 'fastify', depth: FULL_APP_DEPTH },
  ];
  const rounds = QUICK ? 4 : 10;
  const turnMs = QUICK ? 1500 : 2500;
  log(
    `http-layers: ${plan.length} stacks, ${rounds} rounds of ${turnMs / 1000} s each at ${LAYERS_RATE_PER_SEC}/s (server CPU per switch, median of the rounds)`,
  );
  const redis = await startRedis();
  const stacks: (FloorServer & { framework: string; depth: number; sessionIds: string[] })[] = [];
  try {
    for (const [i, { framework, depth }] of plan.entries()) {
      const sessionIds = ids(`ly${i}`, 200);
      const stack = await startHttpStack(framework, depth, {
        REDIS_URL: redis.url,
        JWT_SECRET,
        BENCH_SESSION_IDS: sessionIds.join(','),
      });
      stacks.push({ ...stack, framework, depth, sessionIds });
    }
    const turn = async (stack: (typeof stacks)[number], warmupMs: number) => {
      const cpu0 = cpuMs(stack.pid);
      const r = await worker.run<{ histogram: string; statuses: Record<string, number>; total: number }>(
        'httpSwitch',
        {
          httpUrl: `http://127.0.0.1:${stack.port}`,
          token,
          sessionIds: stack.sessionIds,
          ratePerSec: LAYERS_RATE_PER_SEC,
          warmupMs,
          durationMs: turnMs,
          sockets: 64,
        },
      );
      return { cpuUsPerSwitch: ((cpuMs(stack.pid) - cpu0) / r.total) * 1000, ...r };
    };
    // One warm-up turn each (JIT, first reads of the sessions); not counted.
    for (const stack of stacks) await turn(stack, 0);
    const from = snapshot();
    const perStack = stacks.map(() => ({
      cpu: [] as number[],
      histograms: [] as string[],
      statuses: {} as Record<string, number>,
    }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, stack] of stacks.entries()) {
        const r = await turn(stack, 0);
        perStack[i]!.cpu.push(r.cpuUsPerSwitch);
        perStack[i]!.histograms.push(r.histogram);
        for (const [status, count] of Object.entries(r.statuses))
          perStack[i]!.statuses[status] = (perStack[i]!.statuses[status] ?? 0) + count;
      }
      log(`  round ${round + 1}/${rounds} done`);
    }
    const otherLoadCores = Math.round(foreignCores(from, snapshot()) * 100) / 100;
    const median = (values: number[]): number => {
      const sorted = [...values].sort((x, y) => x - y);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const measured = stacks.map((stack, i) => {
      const latency = summarize(mergeEncoded(perStack[i]!.histograms));
      const entry = {
        framework: stack.framework,
        depth: stack.depth,
        layer:
          stack.depth === FULL_APP_DEPTH
            ? 'the service (createApp: every route and middleware)'
            : stack.depth === 0
              ? 'node:http, a fixed view'
              : LAYERS[stack.depth - 1]!,
        cpuUsPerSwitch: Math.round(median(perStack[i]!.cpu)),
        cpuUsRounds: perStack[i]!.cpu.map(Math.round),
        latency,
        statuses: perStack[i]!.statuses,
        otherLoadCores,
      };
      log(
        `  ${stack.framework} ${stack.depth}: ${entry.cpuUsPerSwitch} µs CPU/switch (rounds ${entry.cpuUsRounds.join(', ')}); ${lat(latency)}; ${JSON.stringify(entry.statuses)}`,
      );
      return entry;
    });
    return { ratePerSec: LAYERS_RATE_PER_SEC, rounds, turnMs, otherLoadCores, stacks: measured };
  } finally {
    await Promise.all(stacks.map((stack) => stopProcess(stack.proc)));
    await closeRedis(redis);
  }
}

// ------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  if (args.priority) {
    // Children inherit the nice value: every server, redis-server and worker started after this.
    os.setPriority(process.pid, -10);
  }
  log(
    `SyncKairos benchmark, ${QUICK ? 'QUICK mode (smaller counts, shorter runs; not the reference figures)' : 'full mode'}${args.profile ? ', PROFILED (--cpu-prof on every instance)' : ''}${args.priority ? ', at nice -10' : ''}`,
  );
  const token = await adminToken();
  const workers = [new Worker('load-1'), new Worker('load-2')];
  const [w0] = workers as [Worker, Worker];
  const rows: RowResult[] = [];

  // ---------------------------------------------------------------- floors
  log('floors: bare Redis EVALSHA, bare HTTP keep-alive, bare ws echo (sequential round trips)');
  const floorRedis = await startRedis();
  const floorServer: FloorServer = await startFloorServer();
  const redisVersion = await (async () => {
    const client = new Redis(floorRedis.url);
    const info = await client.info('server');
    client.disconnect();
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  })();
  const floorCount = QUICK ? 2000 : 10_000;
  const floorQuiet = await waitForQuiet(QUIET_THRESHOLD_CORES, QUICK ? 3000 : 45_000);
  const floorFrom = snapshot();
  const floor = async (task: 'floorRedis' | 'floorHttp' | 'floorWs', target: object) => {
    const r = await w0.run<{ histogram: string }>(task, { ...target, count: floorCount, warmup: 1000 });
    return summarize(mergeEncoded([r.histogram]));
  };
  const redisFloor = await floor('floorRedis', { redisUrl: floorRedis.url });
  const httpFloor = await floor('floorHttp', { url: `http://127.0.0.1:${floorServer.port}/` });
  const wsFloor = await floor('floorWs', { url: `ws://127.0.0.1:${floorServer.port}/` });
  await closeRedis(floorRedis);
  contention.floors = {
    foreignCores: Math.round(foreignCores(floorFrom, snapshot()) * 100) / 100,
    beforeCores: Math.round(floorQuiet.foreign * 100) / 100,
  };
  log(`  redis EVALSHA ${lat(redisFloor)}`);
  log(`  http keep-alive ${lat(httpFloor)}`);
  log(`  ws echo ${lat(wsFloor)}`);
  const floors = { redisEvalsha: redisFloor, httpKeepAlive: httpFloor, wsEcho: wsFloor };

  let httpSwitchP99: number | null = null;

  // ---------------------------------------------------------------- switch over HTTP
  if (wanted('http-switch') || wanted('memory')) {
    await guarded(
      rows,
      { id: 'http-switch', what: '`switch` over HTTP keep-alive', target: 'p50 ≤ 1 ms, p99 ≤ 5 ms' },
      async () => {
        log(
          `http-switch: 1 instance, ${SIZE.switchSessions} sessions, ${SIZE.switchRate}/s offered for ${SIZE.durationMs / 1000} s`,
        );
        await withStack('http-switch', 1, {}, async ({ instances, redisClient }) => {
          const [a] = instances as [Instance];
          const sessionIds = ids('hs', SIZE.switchSessions);
          await createSessions(workers, a.httpUrl, token, sessionIds, 3_600_000, true);
          const calls0 = await redisCalls(redisClient);
          const { r, s, lag, serverCpu, cpuPerSwitchMs, fromUs, toUs } = await measureHttpSwitch(
            w0,
            token,
            a,
            sessionIds,
          );
          const redisCallsPerSwitch = callsPerSwitch(calls0, await redisCalls(redisClient), r.total);
          profileWindows['http-switch'] = { fromUs, toUs, units: r.total, rules: HTTP_LAYER_RULES };
          httpSwitchP99 = s.p99Ms;
          const errors = Object.entries(r.statuses).filter(([k]) => k !== '200');
          log(
            `  ${lat(s)}; ${r.achievedPerSec.toFixed(0)}/s achieved; statuses ${JSON.stringify(r.statuses)}`,
          );
          const ok =
            s.p50Ms <= 1 && s.p99Ms <= 5 && errors.length === 0 && r.achievedPerSec >= SIZE.switchRate * 0.97;
          rows.push({
            id: 'http-switch',
            what: `\`switch\` over HTTP keep-alive, 1 instance, ${SIZE.switchSessions} sessions, ${SIZE.switchRate}/s offered`,
            target: 'p50 ≤ 1 ms, p99 ≤ 5 ms',
            measured: `${lat(s)}; ${r.achievedPerSec.toFixed(0)}/s achieved${errors.length ? `; errors ${JSON.stringify(Object.fromEntries(errors))}` : ''}`,
            floor: `HTTP keep-alive p50 ${fmt(httpFloor.p50Ms)} · p99 ${fmt(httpFloor.p99Ms)} ms; Redis EVALSHA p50 ${fmt(redisFloor.p50Ms)} ms`,
            ratio: `p50 ×${ratio(s.p50Ms, httpFloor.p50Ms)} · p99 ×${ratio(s.p99Ms, httpFloor.p99Ms)}`,
            met: ok,
            data: {
              latency: s,
              achievedPerSec: r.achievedPerSec,
              statuses: r.statuses,
              generatorLag: lag,
              maxInFlight: r.maxInFlight,
              serverCpuCores: Math.round(serverCpu * 100) / 100,
              serverCpuMsPerSwitch: Math.round(cpuPerSwitchMs * 1000) / 1000,
              redisCallsPerSwitch,
            },
            notes: [
              `open loop: requests are sent on schedule whatever the answers do; latency from send to the end of the response; generator lag p99 ${fmt(lag.p99Ms)} ms`,
              `server process CPU: ${(serverCpu * 100).toFixed(0)}% of one core, ${cpuPerSwitchMs.toFixed(3)} ms of CPU per switch (all its threads; other load on the machine hardly changes this one)`,
              `Redis commands per switch (INFO commandstats over the run, warm-up included; those run inside a script count too, so the round trips are the evalsha and the plain commands): ${redisCallsPerSwitch}`,
            ],
          });
        });
      },
    );
  }

  // ---------------------------------------------------------------- switch over HTTP, embedded mode
  if (wanted('embedded-switch')) {
    const row = {
      id: 'embedded-switch',
      what: '`switch` over HTTP keep-alive, embedded mode (what durability costs)',
      target: 'none (compare with http-switch)',
    };
    await guarded(rows, row, async () => {
      log(
        `embedded-switch: 1 embedded instance, ${SIZE.switchSessions} sessions, ${SIZE.switchRate}/s offered for ${SIZE.durationMs / 1000} s`,
      );
      const quiet = await waitForQuiet(QUIET_THRESHOLD_CORES, QUICK ? 3000 : 45_000);
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'synckairos-bench-'));
      const a = await startInstance({
        name: 'embedded-switch-A',
        redisUrl: null,
        env: instanceEnv({ DATA_DIR: dataDir }),
      });
      try {
        const sessionIds = ids('es', SIZE.switchSessions);
        await createSessions(workers, a.httpUrl, token, sessionIds, 3_600_000, true);
        // PGlite's first open (initdb, in its worker thread) is startup work, not the switch's.
        await waitForAuditTrail(a, token, sessionIds[0]!);
        const from = snapshot();
        const { r, s, lag, serverCpu, cpuPerSwitchMs } = await measureHttpSwitch(w0, token, a, sessionIds);
        contention[row.id] = {
          foreignCores: Math.round(foreignCores(from, snapshot()) * 100) / 100,
          beforeCores: Math.round(quiet.foreign * 100) / 100,
        };
        const errors = Object.entries(r.statuses).filter(([k]) => k !== '200');
        log(`  ${lat(s)}; ${r.achievedPerSec.toFixed(0)}/s achieved; statuses ${JSON.stringify(r.statuses)}`);
        rows.push({
          ...row,
          what: `\`switch\` over HTTP keep-alive, embedded mode (every change fsync'd before its answer), 1 instance, ${SIZE.switchSessions} sessions, ${SIZE.switchRate}/s offered`,
          measured: `${lat(s)}; ${r.achievedPerSec.toFixed(0)}/s achieved${errors.length ? `; errors ${JSON.stringify(Object.fromEntries(errors))}` : ''}`,
          floor: `HTTP keep-alive p50 ${fmt(httpFloor.p50Ms)} · p99 ${fmt(httpFloor.p99Ms)} ms`,
          ratio: `p50 ×${ratio(s.p50Ms, httpFloor.p50Ms)} · p99 ×${ratio(s.p99Ms, httpFloor.p99Ms)}`,
          met: errors.length === 0 && r.achievedPerSec >= SIZE.switchRate * 0.97,
          data: {
            latency: s,
            achievedPerSec: r.achievedPerSec,
            statuses: r.statuses,
            generatorLag: lag,
            serverCpuCores: Math.round(serverCpu * 100) / 100,
            serverCpuMsPerSwitch: Math.round(cpuPerSwitchMs * 1000) / 1000,
          },
          notes: [
            "a switch is answered once its change is committed and fsync'd (LMDB, one transaction per event-loop turn): the difference from http-switch is the disk's sync time",
            `server process CPU: ${(serverCpu * 100).toFixed(0)}% of one core, ${cpuPerSwitchMs.toFixed(3)} ms per switch (all threads: the audit trail's PGlite worker included)`,
          ],
        });
      } finally {
        await stopProcess(a.proc);
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }

  // ---------------------------------------------------------------- the REST path, layer by layer
  let httpLayers: HttpLayersResult | null = null;
  if (wanted('http-layers')) {
    try {
      httpLayers = await measureHttpLayers(w0, token);
    } catch (err) {
      log(`  http-layers FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // ---------------------------------------------------------------- switch over WebSocket
  if (wanted('ws-switch')) {
    await guarded(
      rows,
      {
        id: 'ws-switch',
        what: '`switch` over WebSocket',
        target: 'p50 ≤ 0.5 ms, p99 ≤ 2 ms; ≥ 10,000 switches/s per instance',
      },
      async () => {
        log(
          `ws-switch: 1 instance, ${SIZE.switchSessions} watching sockets, ${SIZE.switchRate}/s offered; then closed loop`,
        );
        await withStack('ws-switch', 1, {}, async ({ instances, redisClient }) => {
          const [a] = instances as [Instance];
          const sessionIds = ids('ws', Math.max(SIZE.switchSessions, ...SIZE.closedConcurrency));
          await createSessions(
            workers,
            a.wsUrl.replace('ws:', 'http:').replace('/v1/ws', ''),
            token,
            sessionIds,
            3_600_000,
            true,
          );
          const rateCalls0 = await redisCalls(redisClient);
          const rateCpu0 = cpuMs(a.pid);
          const fromUs = monoMs() * 1000;
          const r = await w0.run<{
            histogram: string;
            lag: string;
            replies: Record<string, number>;
            achievedPerSec: number;
            total: number;
            unanswered: number;
            echoedStates: number;
          }>('wsSwitchRate', {
            wsUrl: a.wsUrl,
            token,
            sessionIds: sessionIds.slice(0, SIZE.switchSessions),
            ratePerSec: SIZE.switchRate,
            warmupMs: SIZE.warmupMs,
            durationMs: SIZE.durationMs,
          });
          profileWindows['ws-switch'] = {
            fromUs,
            toUs: monoMs() * 1000,
            units: r.total,
            rules: WS_LAYER_RULES,
          };
          const rateRedisCallsPerSwitch = callsPerSwitch(rateCalls0, await redisCalls(redisClient), r.total);
          const s = summarize(mergeEncoded([r.histogram]));
          const rateCpuPerSwitchMs = (cpuMs(a.pid) - rateCpu0) / r.total;
          log(
            `  at ${SIZE.switchRate}/s: ${lat(s)}; replies ${JSON.stringify(r.replies)}, unanswered ${r.unanswered}; server CPU ${rateCpuPerSwitchMs.toFixed(3)} ms/switch`,
          );
          const closed: {
            concurrency: number;
            perSec: number;
            latency: LatencySummary;
            replies: Record<string, number>;
            serverCpuCores: number;
            serverCpuMsPerSwitch: number;
          }[] = [];
          for (const concurrency of SIZE.closedConcurrency) {
            const cpu0 = cpuMs(a.pid);
            const t0 = monoMs();
            const c = await w0.run<{
              histogram: string;
              replies: Record<string, number>;
              achievedPerSec: number;
              total: number;
            }>('wsSwitchClosed', {
              wsUrl: a.wsUrl,
              token,
              sessionIds: sessionIds.slice(0, concurrency),
              warmupMs: 1000,
              durationMs: SIZE.closedDurationMs,
            });
            const serverCpuCores = (cpuMs(a.pid) - cpu0) / (monoMs() - t0);
            const serverCpuMsPerSwitch = Math.round(((cpuMs(a.pid) - cpu0) / c.total) * 1000) / 1000;
            const cs = summarize(mergeEncoded([c.histogram]));
            closed.push({
              concurrency,
              perSec: Math.round(c.achievedPerSec),
              latency: cs,
              replies: c.replies,
              serverCpuCores: Math.round(serverCpuCores * 100) / 100,
              serverCpuMsPerSwitch,
            });
            log(
              `  closed loop, ${concurrency} sockets: ${c.achievedPerSec.toFixed(0)}/s, ${lat(cs)}, server CPU ${(serverCpuCores * 100).toFixed(0)}%`,
            );
          }
          const best = closed.reduce((a, b) => (b.perSec > a.perSec ? b : a));
          const errors = Object.keys(r.replies).filter((k) => k !== 'ACK');
          rows.push({
            id: 'ws-switch',
            what: `\`switch\` over WebSocket, 1 instance (${SIZE.switchSessions} watching sockets at ${SIZE.switchRate}/s; max from a closed loop)`,
            target: 'p50 ≤ 0.5 ms, p99 ≤ 2 ms; ≥ 10,000 switches/s per instance',
            measured: `${lat(s)}; max sustained ${best.perSec}/s (${best.concurrency} sockets, p99 ${fmt(best.latency.p99Ms)} ms)`,
            floor: `ws echo p50 ${fmt(wsFloor.p50Ms)} · p99 ${fmt(wsFloor.p99Ms)} ms; Redis EVALSHA p50 ${fmt(redisFloor.p50Ms)} ms`,
            ratio: `p50 ×${ratio(s.p50Ms, wsFloor.p50Ms)} · p99 ×${ratio(s.p99Ms, wsFloor.p99Ms)}`,
            met: s.p50Ms <= 0.5 && s.p99Ms <= 2 && best.perSec >= 10_000 && errors.length === 0,
            data: {
              latency: s,
              replies: r.replies,
              unanswered: r.unanswered,
              echoedStatesPerSwitch: Math.round((r.echoedStates / r.total) * 100) / 100,
              serverCpuMsPerSwitch: Math.round(rateCpuPerSwitchMs * 1000) / 1000,
              closedLoop: closed,
            },
            notes: [
              `each socket watches its session (the URL's session_id), so every switch also goes through pub/sub and the fan-out, as for a real clock`,
              `closed loop: each socket keeps one SWITCH outstanding; ${closed.map((c) => `${c.concurrency} sockets → ${c.perSec}/s (p99 ${fmt(c.latency.p99Ms)} ms, server CPU ${Math.round(c.serverCpuCores * 100)}%, ${c.serverCpuMsPerSwitch} ms CPU/switch)`).join('; ')}`,
              `the switching socket also got its own change as a STATE after the ACK for ${Math.round((r.echoedStates / r.total) * 100)}% of switches`,
              `Redis commands per switch at ${SIZE.switchRate}/s (INFO commandstats; pub/sub messages are not commands): ${rateRedisCallsPerSwitch}`,
              `server CPU per switch at ${SIZE.switchRate}/s: ${rateCpuPerSwitchMs.toFixed(3)} ms${r.unanswered > 0 ? `; ${r.unanswered} switches unanswered within 10 s of the last send (not in the histogram)` : ''}`,
            ],
          });
        });
      },
    );
  }

  // ---------------------------------------------------------------- switch latency with webhooks on
  for (const [id, deliveryIn, by] of [
    ['webhook-switch', 'instance', ''],
    ['webhook-worker', 'worker', ', delivered by a webhook worker process'],
  ] as const) {
    if (!wanted(id)) continue;
    await guarded(
      rows,
      {
        id,
        what: `\`switch\` over WebSocket with 10 webhook endpoints subscribed to every event${by}`,
        target: 'p99 unchanged: within the noise of the runs without',
      },
      () => measureWebhookSwitch(rows, w0, workers, token, deliveryIn),
    );
  }

  // ---------------------------------------------------------------- delivery across instances
  if (wanted('delivery')) {
    await guarded(
      rows,
      {
        id: 'delivery',
        what: 'delivery: `SWITCH` on instance A → `STATE` at a client on instance B',
        target: 'p50 ≤ 2 ms, p99 ≤ 5 ms',
      },
      async () => {
        log(`delivery: 2 instances, ${SIZE.deliverySessions} sessions, switch on A → STATE on B at 1000/s`);
        await withStack('delivery', 2, {}, async ({ instances }) => {
          const [a, b] = instances as [Instance, Instance];
          const sessionIds = ids('dl', SIZE.deliverySessions);
          await createSessions(workers, a.httpUrl, token, sessionIds, 3_600_000, true);
          const r = await w0.run<{
            histogram: string;
            replies: Record<string, number>;
            matched: number;
            unmatched: number;
            lost: number;
          }>('delivery', {
            senderWsUrl: a.wsUrl,
            receiverWsUrl: b.wsUrl,
            token,
            sessionIds,
            senders: 8,
            ratePerSec: 1000,
            warmupMs: SIZE.warmupMs,
            durationMs: SIZE.durationMs,
          });
          const s = summarize(mergeEncoded([r.histogram]));
          log(`  ${lat(s)}; matched ${r.matched}, unmatched ${r.unmatched}, lost ${r.lost}`);
          rows.push({
            id: 'delivery',
            what: 'delivery: `SWITCH` on instance A → `STATE` at a client on instance B, 1,000 switches/s',
            target: 'p50 ≤ 2 ms, p99 ≤ 5 ms',
            measured: `${lat(s)}; ${r.matched} deliveries, ${r.lost} lost`,
            floor: `ws echo p50 ${fmt(wsFloor.p50Ms)} · p99 ${fmt(wsFloor.p99Ms)} ms`,
            ratio: `p50 ×${ratio(s.p50Ms, wsFloor.p50Ms)} · p99 ×${ratio(s.p99Ms, wsFloor.p99Ms)}`,
            met: s.p50Ms <= 2 && s.p99Ms <= 5 && r.lost === 0,
            data: { latency: s, ...r, histogram: undefined },
            notes: [
              "send and receive times both on one load process's monotonic clock (sender socket on A, watcher sockets on B, same process)",
            ],
          });
        });
      },
    );
  }

  // ---------------------------------------------------------------- one Redis against a Redis Cluster
  if (wanted('redis-cluster')) {
    await guarded(
      rows,
      {
        id: 'redis-cluster',
        what: 'one Redis against a local Redis Cluster (3 masters, 3 replicas): delivery A → B, switch throughput',
        target: 'nothing lost on either; the cluster overhead stated',
      },
      async () => {
        const measure = async (redisCluster: boolean) =>
          withStack(
            'redis-cluster',
            2,
            {},
            async ({ instances }) => {
              const [a, b] = instances as [Instance, Instance];
              const sessionIds = ids('rc', Math.max(SIZE.deliverySessions, 128));
              await createSessions(workers, a.httpUrl, token, sessionIds, 3_600_000, true);
              const d = await w0.run<{ histogram: string; matched: number; lost: number }>('delivery', {
                senderWsUrl: a.wsUrl,
                receiverWsUrl: b.wsUrl,
                token,
                sessionIds: sessionIds.slice(0, SIZE.deliverySessions),
                senders: 8,
                ratePerSec: 1000,
                warmupMs: 1000,
                durationMs: 5000,
              });
              const c = await w0.run<{
                achievedPerSec: number;
                histogram: string;
                replies: Record<string, number>;
              }>('wsSwitchClosed', {
                wsUrl: a.wsUrl,
                token,
                sessionIds: sessionIds.slice(0, 128),
                warmupMs: 1000,
                durationMs: 3000,
              });
              return {
                delivery: summarize(mergeEncoded([d.histogram])),
                lost: d.lost,
                matched: d.matched,
                switchesPerSec: Math.round(c.achievedPerSec),
                switchLatency: summarize(mergeEncoded([c.histogram])),
                replies: c.replies,
              };
            },
            { redisCluster },
          );
        log('redis-cluster: 2 instances on one Redis, then on a local Redis Cluster');
        const single = await measure(false);
        log(`  one Redis: delivery ${lat(single.delivery)}; ${single.switchesPerSec} switches/s`);
        const cluster = await measure(true);
        log(`  cluster:   delivery ${lat(cluster.delivery)}; ${cluster.switchesPerSec} switches/s`);
        const describe = (m: typeof single): string =>
          `delivery ${lat(m.delivery)}, ${m.lost} lost; ${m.switchesPerSec} switches/s (128 sockets, p99 ${fmt(m.switchLatency.p99Ms)} ms)`;
        rows.push({
          id: 'redis-cluster',
          what: 'one Redis against a local Redis Cluster (3 masters, 3 replicas): delivery A → B at 1,000/s, switch throughput (closed loop, 128 sockets on A)',
          target: 'nothing lost on either; the cluster overhead stated',
          measured: `one Redis: ${describe(single)} · cluster: ${describe(cluster)}`,
          floor: '—',
          ratio: `cluster/one: delivery p50 ×${ratio(cluster.delivery.p50Ms, single.delivery.p50Ms)}, throughput ×${ratio(cluster.switchesPerSec, single.switchesPerSec)}`,
          met: single.lost === 0 && cluster.lost === 0,
          data: { single, cluster },
          notes: [
            'same machine, same two cores: the six cluster nodes share them with the instances and the load, so this row shows correctness and overhead, not scaling (see "Redis Cluster" below)',
          ],
        });
      },
    );
  }

  // ---------------------------------------------------------------- fan-out
  if (wanted('fanout')) {
    await guarded(
      rows,
      {
        id: 'fanout',
        what: 'fan-out: one session, many viewers on one instance',
        target: 'last viewer within 100 ms (p99)',
      },
      async () => {
        log(
          `fanout: 1 instance, 1 session, ${SIZE.viewers} viewers over 2 load processes, ${SIZE.fanoutReps} switches`,
        );
        const perWorker = SIZE.viewers / 2;
        /** Repeats a change and times the last viewer's arrival (CLOCK_MONOTONIC is shared by all processes). */
        const fanoutReps = async (
          change: (rep: number) => Promise<{ sentMs: number; version: number }>,
        ): Promise<{ last: LatencySummary; first: LatencySummary; incomplete: number }> => {
          const last = newHistogram();
          const first = newHistogram();
          let incomplete = 0;
          for (let rep = 0; rep < SIZE.fanoutReps; rep++) {
            const { sentMs, version } = await change(rep);
            const arrivals = await Promise.all(
              workers.map((w) =>
                w.run<{ expected: number; count: number; firstMs: number | null; lastMs: number | null }>(
                  'viewersWait',
                  {
                    name: 'fanout',
                    version,
                    boundMs: 5000,
                  },
                ),
              ),
            );
            if (arrivals.some((x) => x.count < x.expected || x.lastMs === null)) incomplete++;
            recordMs(last, Math.max(...arrivals.map((x) => x.lastMs ?? Number.POSITIVE_INFINITY)) - sentMs);
            recordMs(first, Math.min(...arrivals.map((x) => x.firstMs ?? Number.POSITIVE_INFINITY)) - sentMs);
            await sleep(200);
          }
          return { last: summarize(last), first: summarize(first), incomplete };
        };
        const openViewers = (wsUrl: string, sessionId: string): Promise<unknown> =>
          Promise.all(
            workers.map((w, i) =>
              w.run('viewersOpen', {
                name: 'fanout',
                wsUrl,
                token,
                sessionId,
                count: perWorker,
                localAddresses: SOURCE_ADDRESSES.filter((_, k) => k % 2 === i),
              }),
            ),
          );
        const closeViewers = (): Promise<unknown> =>
          Promise.all(workers.map((w) => w.run('viewersClose', { name: 'fanout' })));

        let frameBytes = 800;
        const measured = await withStack('fanout', 1, {}, async ({ instances }) => {
          const [a] = instances as [Instance];
          const sessionId = 'fanout-000001';
          const { viewBytes } = await createSessions([w0], a.httpUrl, token, [sessionId], 3_600_000, true);
          frameBytes = viewBytes + '{"type":"STATE","state":}'.length;
          await openViewers(a.wsUrl, sessionId);
          await w0.run('controlOpen', { name: 'fanout', wsUrl: a.wsUrl, token });
          await sleep(1000);
          const result = await fanoutReps(async () => {
            const { sentMs, version } = await w0.run<{ sentMs: number; version: number }>('controlSwitch', {
              name: 'fanout',
              sessionId,
            });
            return { sentMs, version };
          });
          await w0.run('controlClose', { name: 'fanout' });
          await closeViewers();
          return result;
        });
        log(
          `  last viewer ${lat(measured.last)}; first viewer p50 ${fmt(measured.first.p50Ms)} ms; incomplete ${measured.incomplete}`,
        );
        // The floor: the bare ws server sends one frame of the same size to as many sockets.
        const floorUrl = `ws://127.0.0.1:${floorServer.port}/`;
        await openViewers(floorUrl, 'floor');
        await w0.run('controlOpen', { name: 'floor', wsUrl: floorUrl });
        await sleep(500);
        const floor = await fanoutReps(async (rep) =>
          w0.run<{ sentMs: number; version: number }>('controlBroadcast', {
            name: 'floor',
            version: rep + 1,
            bytes: frameBytes,
          }),
        );
        await w0.run('controlClose', { name: 'floor' });
        await closeViewers();
        log(`  floor (bare ws broadcast of a ${frameBytes}-byte frame): last ${lat(floor.last)}`);
        rows.push({
          id: 'fanout',
          what: `fan-out: one session, ${SIZE.viewers.toLocaleString('en')} viewers on one instance (time from the SWITCH to the last viewer's STATE, ${SIZE.fanoutReps} switches)`,
          target: 'last viewer within 100 ms (p99)',
          measured: `last viewer ${lat(measured.last)}; first viewer p50 ${fmt(measured.first.p50Ms)} ms${measured.incomplete ? `; ${measured.incomplete} switches not seen by every viewer` : ''}`,
          floor: `bare \`ws\` broadcast of a ${frameBytes}-byte frame to as many sockets: last p50 ${fmt(floor.last.p50Ms)} · p99 ${fmt(floor.last.p99Ms)} ms`,
          ratio: `p99 ×${ratio(measured.last.p99Ms, floor.last.p99Ms)}`,
          // Fewer viewers than the target names (quick mode) cannot meet it.
          met: measured.last.p99Ms <= 100 && measured.incomplete === 0 && SIZE.viewers >= 10_000,
          data: { last: measured.last, first: measured.first, incomplete: measured.incomplete, floor },
          notes: [
            `viewers in two load processes; send and receive times on CLOCK_MONOTONIC (process.hrtime), which all processes on one machine share`,
            `p99 of ${SIZE.fanoutReps} repetitions is close to their max`,
          ],
        });
      },
    );
  }

  // ---------------------------------------------------------------- expiry and phase lateness
  // The same measurement for both: each session's timed STATE against the instant its START named.
  const timedEventRows = [
    {
      id: 'expiry',
      event: 'expired',
      instantField: 'deadline_at',
      what: 'expiry: the `expired` STATE after its deadline',
      instant: 'deadline_at',
      phases: undefined,
      extraBankMs: 0,
    },
    {
      id: 'phases',
      event: 'phase_changed',
      instantField: 'next_phase_at',
      what: 'phase change: the `phase_changed` STATE after its crossing',
      instant: 'next_phase_at',
      // One warning a minute before each flag: the crossing is due where the expiry row's deadline is.
      phases: [{ name: 'warning', remaining_ms: 60_000 }],
      extraBankMs: 60_000,
    },
  ] as const;
  for (const spec of timedEventRows) {
    if (!wanted(spec.id)) continue;
    const target = 'p99 ≤ 5 ms late, never early, exactly once';
    await guarded(rows, { id: spec.id, what: spec.what, target }, async () => {
      const n = SIZE.expirySessions;
      log(
        `${spec.id}: 2 instances, ${n} running sessions, ${spec.event} due ${SIZE.expiryLeadMs / 1000}–${(SIZE.expiryLeadMs + SIZE.expiryWindowMs) / 1000} s after their start`,
      );
      await withStack(spec.id, 2, {}, async ({ instances }) => {
        const [a, b] = instances as [Instance, Instance];
        const sessionIds = ids(spec.id === 'expiry' ? 'ex' : 'ph', n);
        const banks = sessionIds.map(
          (_, i) => spec.extraBankMs + SIZE.expiryLeadMs + Math.floor((SIZE.expiryWindowMs * i) / n),
        );
        // Pending now; each is started over WebSocket by the socket that watches it (its ACK gives the instant).
        await createSessions(workers, a.httpUrl, token, sessionIds, banks, false, spec.phases);
        const half = [sessionIds.filter((_, i) => i % 2 === 0), sessionIds.filter((_, i) => i % 2 === 1)];
        type ExpiryResult = {
          received: string;
          stamped: string;
          started: number;
          expired: number;
          missing: number;
          duplicates: number;
          earlyReceived: number;
          earlyStamped: number;
          minReceivedMs: number;
          minStampedMs: number;
          wrongVersion: number;
          subscribeFailures: Record<string, number>;
          startFailures: Record<string, number>;
          startsTookMs: number;
          sync: { offsetMs: number; rttMs: number };
        };
        const results = await Promise.all(
          [a, b].map((instance, i) =>
            workers[i]!.run<ExpiryResult>(
              'expiry',
              {
                wsUrl: instance.wsUrl,
                token,
                sessionIds: half[i],
                perSocket: 100,
                boundMs: SIZE.expiryLeadMs + SIZE.expiryWindowMs + 15_000,
                event: spec.event,
                instantField: spec.instantField,
              },
              300_000,
            ),
          ),
        );
        const received = summarize(mergeEncoded(results.map((r) => r.received)));
        const stamped = summarize(mergeEncoded(results.map((r) => r.stamped)));
        const sum = (
          key:
            | 'started'
            | 'expired'
            | 'missing'
            | 'duplicates'
            | 'earlyReceived'
            | 'earlyStamped'
            | 'wrongVersion',
        ): number => results.reduce((total, r) => total + r[key], 0);
        const applied = (await Promise.all([a, b].map(metricsOf))).map((text) =>
          metricValue(text, 'synckairos_expiries_total', `event="${spec.event}"`),
        );
        const totalApplied = applied.reduce((x, y) => x + y, 0);
        const failures = results.flatMap((r) => [
          ...Object.entries(r.subscribeFailures),
          ...Object.entries(r.startFailures),
        ]);
        log(
          `  received ${lat(received)}; stamped ${lat(stamped)}; started ${sum('started')}, ${spec.event} ${sum('expired')}, missing ${sum('missing')}, duplicates ${sum('duplicates')}, early ${sum('earlyReceived')}/${sum('earlyStamped')}; applied by A ${applied[0]}, B ${applied[1]}`,
        );
        const exactlyOnce =
          sum('missing') === 0 && sum('duplicates') === 0 && totalApplied === n && sum('wrongVersion') === 0;
        const neverEarly = sum('earlyReceived') === 0 && sum('earlyStamped') === 0;
        rows.push({
          id: spec.id,
          what: `${spec.what}, ${n.toLocaleString('en')} running sessions on 2 instances`,
          target,
          measured: `received ${lat(received)} late; ${neverEarly ? 'never early' : `${sum('earlyReceived') + sum('earlyStamped')} early`}; ${exactlyOnce ? 'exactly once' : `missing ${sum('missing')}, duplicates ${sum('duplicates')}, applied ${totalApplied}`}`,
          floor: `Redis EVALSHA p50 ${fmt(redisFloor.p50Ms)} · p99 ${fmt(redisFloor.p99Ms)} ms`,
          ratio: `p99 ×${ratio(received.p99Ms, redisFloor.p99Ms)}`,
          met: received.p99Ms <= 5 && neverEarly && exactlyOnce && failures.length === 0 && n >= 10_000,
          data: {
            received,
            stamped,
            started: sum('started'),
            timed: sum('expired'),
            missing: sum('missing'),
            duplicates: sum('duplicates'),
            earlyReceived: sum('earlyReceived'),
            earlyStamped: sum('earlyStamped'),
            minReceivedMs: Math.min(...results.map((r) => r.minReceivedMs)),
            minStampedMs: Math.min(...results.map((r) => r.minStampedMs)),
            appliedByInstance: applied,
            failures: Object.fromEntries(failures),
            startsTookMs: results.map((r) => Math.round(r.startsTookMs)),
            pingSync: results.map((r) => r.sync),
          },
          notes: [
            `"received": the client's receive time, put on the server's clock with a PING offset (lowest of 40 round trips, best ${fmt(Math.min(...results.map((r) => r.sync.rttMs)))} ms), minus ${spec.instant}; this is the headline figure. "Early" means earlier than the offset's uncertainty allows (half that round trip, plus 0.5 ms for server_time's whole-ms truncation)`,
            `"stamped": the STATE's own server_time (when the instance built the frame) minus ${spec.instant}: ${lat(stamped)}`,
            `exactly once: each session's \`${spec.event}\` STATE arrived once, at version started+1, and the instances' synckairos_expiries_total{event="${spec.event}"} add up to ${totalApplied} (A ${applied[0]}, B ${applied[1]}) for ${n} sessions`,
            `each instance started and watches half of the sessions; both instances' schedulers race for every one`,
            ...(spec.phases === undefined
              ? []
              : [
                  `each session: two players, phases ${JSON.stringify(spec.phases)}, the bank a minute longer than the expiry row's so the crossing falls where its deadline does`,
                ]),
          ],
        });
      });
    });
  }

  // ---------------------------------------------------------------- client offset error
  if (wanted('offset')) {
    await guarded(
      rows,
      {
        id: 'offset',
        what: 'client offset error (SDK `connect()`), +5 s skewed client clock',
        target: '≤ 1 ms',
      },
      async () => {
        log(`offset: +5 s skewed client clock, ${SIZE.offsetTrials} connects`);
        await withStack('offset', 1, {}, async ({ instances }) => {
          const [a] = instances as [Instance];
          const sessionId = 'offset-000001';
          await createSessions([w0], a.httpUrl, token, [sessionId], 3_600_000, true);
          type OffsetResult = {
            errors: string;
            maxAbsErrorMs: number;
            signedMin: number;
            signedMax: number;
            maxUncertaintyMs?: number;
          };
          const params = {
            wsUrl: a.wsUrl,
            httpUrl: a.httpUrl,
            token,
            sessionId,
            trials: SIZE.offsetTrials,
            samples: 8,
            skewMs: 5000,
          };
          const sdk = await w0.run<OffsetResult>('offsetSdk', params);
          const raw = await w0.run<OffsetResult>('offsetRaw', params);
          const s = summarize(mergeEncoded([sdk.errors]));
          const rs = summarize(mergeEncoded([raw.errors]));
          log(
            `  SDK |error| ${lat(s)}; signed ${sdk.signedMin.toFixed(3)}…${sdk.signedMax.toFixed(3)} ms; raw PING |error| ${lat(rs)}; server clock sync ${JSON.stringify(a.clock)}`,
          );
          rows.push({
            id: 'offset',
            what: 'client offset error (SDK `connect()`) on loopback, +5 s skewed client clock',
            target: '≤ 1 ms',
            measured: `|error| ${lat(s)} (${SIZE.offsetTrials} connects; signed ${sdk.signedMin.toFixed(3)} … ${sdk.signedMax.toFixed(3)} ms)`,
            floor: `ws echo p50 ${fmt(wsFloor.p50Ms)} ms (an NTP estimate is good to half a round trip, plus the server's whole-ms truncation)`,
            ratio: `max ×${ratio(s.maxMs, wsFloor.p50Ms / 2)} of half a round trip`,
            met: sdk.maxAbsErrorMs <= 1,
            data: {
              sdk: {
                error: s,
                signedMinMs: sdk.signedMin,
                signedMaxMs: sdk.signedMax,
                maxUncertaintyMs: sdk.maxUncertaintyMs,
              },
              rawPing: { error: rs, signedMinMs: raw.signedMin, signedMaxMs: raw.signedMax },
              serverClock: a.clock,
            },
            notes: [
              "truth: the server disciplines its clock to Redis TIME, which reads this machine's real-time clock; the client's clock (injected into connect() as `clock`) is that clock + 5000 ms, so the true offset is −5000 ms and the error is offsetMs + 5000. It includes the server's own sync error (its startup sample had a round trip of " +
                `${a.clock?.roundTripMs ?? '?'} ms)`,
              `connect() with its default 12 PING samples; for comparison, the raw best-of-8 PING midpoint (server_time + 0.5 ms for its truncation to whole ms): |error| ${lat(rs)}`,
            ],
          });
        });
      },
    );
  }

  // ---------------------------------------------------------------- memory per session in Redis
  if (wanted('memory')) {
    await guarded(
      rows,
      {
        id: 'memory',
        what: 'sessions held in Redis',
        target: '100,000 at ≤ 1 KB (1,024 B) each, switch p99 unchanged',
      },
      async () => {
        const n = SIZE.memorySessions;
        log(`memory: ${n.toLocaleString('en')} running sessions in Redis, then switch p99 again`);
        await withStack('memory', 1, {}, async ({ instances, redisClient }) => {
          const [a] = instances as [Instance];
          const usedMemory = async (): Promise<number> =>
            Number(/used_memory:(\d+)/.exec(await redisClient.info('memory'))![1]);
          await sleep(500);
          const before = await usedMemory();
          const t0 = monoMs();
          const sessionIds = ids('mem', n);
          await createSessions(workers, a.httpUrl, token, sessionIds, 3_600_000, true);
          const createdPerSec = n / ((monoMs() - t0) / 1000);
          const after = await usedMemory();
          const keys = stateKeys();
          const key = keys.session(sessionIds[0]!);
          const oneSession = Number(await redisClient.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
          const stored = (await redisClient.get(key)) ?? '';
          const stateJsonBytes = Buffer.byteLength(stored.slice(stored.indexOf('|') + 1));
          // Summed over every bucket's index and stream (keys.ts).
          const sumOverBuckets = async (measure: (bucket: number) => Promise<number>): Promise<number> =>
            (await Promise.all(keys.buckets.map(measure))).reduce((sum, value) => sum + value, 0);
          const deadlineIndex = await sumOverBuckets(async (bucket) =>
            Number((await redisClient.call('MEMORY', 'USAGE', keys.deadlines(bucket), 'SAMPLES', '0')) ?? 0),
          );
          const auditBytes = await sumOverBuckets(async (bucket) =>
            Number((await redisClient.call('MEMORY', 'USAGE', keys.auditLog(bucket), 'SAMPLES', '0')) ?? 0),
          );
          const auditEntries = await sumOverBuckets((bucket) => redisClient.xlen(keys.auditLog(bucket)));
          const dbsize = await redisClient.dbsize();
          const perSession = (after - before) / n;
          const perSessionWithoutAudit = (after - before - auditBytes) / n;
          log(
            `  used_memory +${((after - before) / 1048576).toFixed(1)} MiB → ${perSession.toFixed(0)} B/session (${perSessionWithoutAudit.toFixed(0)} without the audit stream); one session key ${oneSession} B; audit stream ${(auditBytes / 1048576).toFixed(1)} MiB in ${auditEntries} entries`,
          );
          const switchSessions = sessionIds.slice(0, SIZE.switchSessions);
          const fromUs = monoMs() * 1000;
          const r = await w0.run<{
            histogram: string;
            statuses: Record<string, number>;
            achievedPerSec: number;
            total: number;
          }>('httpSwitch', {
            httpUrl: a.httpUrl,
            token,
            sessionIds: switchSessions,
            ratePerSec: SIZE.switchRate,
            warmupMs: SIZE.warmupMs,
            durationMs: SIZE.durationMs,
            sockets: 64,
          });
          // With --profile: the same layers as at the small size, to see what grew with the sessions.
          profileWindows.memory = { fromUs, toUs: monoMs() * 1000, units: r.total, rules: HTTP_LAYER_RULES };
          const s = summarize(mergeEncoded([r.histogram]));
          log(
            `  switch at ${n.toLocaleString('en')} sessions: ${lat(s)} (at ${SIZE.switchSessions}: p99 ${httpSwitchP99 ?? '?'} ms)`,
          );
          const small = httpSwitchP99 ?? Number.NaN;
          const unchanged = s.p99Ms <= 5 && s.p99Ms <= Math.max(small * 1.5, small + 0.5);
          rows.push({
            id: 'memory',
            what: `sessions held in Redis: ${n.toLocaleString('en')} running sessions (INFO used_memory delta / count), and switch p99 at that size`,
            target: `100,000 at ≤ 1 KB (1,024 B) each, switch p99 unchanged`,
            measured: `${perSession.toFixed(0)} B/session (${perSessionWithoutAudit.toFixed(0)} B without the audit stream; one session key ${oneSession} B); switch ${lat(s)} vs p99 ${small} ms at ${SIZE.switchSessions} sessions`,
            floor: `the session's state JSON itself: ${stateJsonBytes} B`,
            ratio: `×${ratio(perSession, stateJsonBytes)} of the JSON (×${ratio(perSessionWithoutAudit, stateJsonBytes)} without the audit stream)`,
            met: perSession <= 1024 && unchanged && (QUICK ? false : true),
            data: {
              sessions: n,
              usedMemoryBefore: before,
              usedMemoryAfter: after,
              bytesPerSession: Math.round(perSession),
              bytesPerSessionWithoutAudit: Math.round(perSessionWithoutAudit),
              oneSessionKeyBytes: oneSession,
              stateJsonBytes,
              deadlineIndexBytes: deadlineIndex,
              auditStreamBytes: auditBytes,
              auditStreamEntries: auditEntries,
              keys: dbsize,
              createdAndStartedPerSec: Math.round(createdPerSec),
              switchLatency: s,
              switchStatuses: r.statuses,
              switchP99AtSmallSize: small,
            },
            notes: [
              `sessions created and started over REST (${Math.round(createdPerSec)}/s, each a create and a start); the instances run without DATABASE_URL, so the audit trail is off and appends nothing (\`sk:{b*}:audit\`: ${auditEntries} entries, ${(auditBytes / 1048576).toFixed(1)} MiB); the deadline index holds ${(deadlineIndex / n).toFixed(0)} B per session`,
              `"unchanged" here: p99 ≤ 5 ms and ≤ max(1.5 × the small-size p99, +0.5 ms)`,
              ...(QUICK
                ? ['quick mode holds fewer sessions than the target names, so it cannot meet it']
                : []),
            ],
          });
        });
      },
    );
  }

  // ---------------------------------------------------------------- the admin session list
  if (wanted('session-list')) {
    await guarded(
      rows,
      {
        id: 'session-list',
        what: 'GET /v1/sessions pages (limit 100) over Redis',
        target: '≤ 50 ms p99 with 100,000 sessions',
      },
      async () => {
        const n = SIZE.listSessions;
        const runningEvery = 10;
        log(
          `session-list: ${n.toLocaleString('en')} sessions (1 in ${runningEvery} running), then page through them`,
        );
        await withStack('session-list', 1, {}, async ({ redis, instances }) => {
          const [a] = instances as [Instance];
          // Filled through the store's own scripts from here (auto-pipelined), not 100,000 REST round trips.
          const connection = createRedisConnection(redis.url);
          const t0 = monoMs();
          try {
            await connectRedis(connection);
            const engine = new SyncEngine({
              store: new RedisStateStore(connection, { clock: systemClock }),
              clock: systemClock,
            });
            const sessionIds = ids('list', n);
            for (let from = 0; from < n; from += 200) {
              await Promise.all(
                sessionIds.slice(from, from + 200).map(async (sessionId, i) => {
                  await engine.createSession({
                    session_id: sessionId,
                    sync_mode: 'per_participant',
                    participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
                    total_time_ms: 3_600_000,
                  });
                  if ((from + i) % runningEvery === 0) await engine.execute(sessionId, { type: 'start' });
                }),
              );
            }
          } finally {
            connection.disconnect();
          }
          const filledPerSec = n / ((monoMs() - t0) / 1000);
          log(`  filled at ${Math.round(filledPerSec)}/s`);

          /** Follows next_cursor from the first page, timing each request; stops after `maxPages`. */
          const walk = async (status: string | null, maxPages: number) => {
            const histogram = newHistogram();
            let cursor: string | null = null;
            let sessions = 0;
            let pages = 0;
            do {
              const query = new URLSearchParams({ limit: '100' });
              if (status !== null) query.set('status', status);
              if (cursor !== null) query.set('cursor', cursor);
              const started = monoMs();
              const res = await fetch(`${a.httpUrl}/v1/sessions?${query}`, {
                headers: { authorization: `Bearer ${token}` },
              });
              const body = (await res.json()) as { sessions: unknown[]; next_cursor: string | null };
              recordMs(histogram, monoMs() - started);
              if (res.status !== 200)
                throw new Error(`GET /v1/sessions answered ${res.status}: ${JSON.stringify(body)}`);
              sessions += body.sessions.length;
              cursor = body.next_cursor;
              pages += 1;
            } while (cursor !== null && pages < maxPages);
            return { latency: summarize(histogram), pages, sessions };
          };
          // The floor: one session read over the same path (auth, one GET from Redis), one at a time.
          const one = newHistogram();
          for (let i = 0; i < 300; i++) {
            const started = monoMs();
            const res = await fetch(`${a.httpUrl}/v1/sessions/list-${String(i * 7).padStart(6, '0')}`, {
              headers: { authorization: `Bearer ${token}` },
            });
            await res.arrayBuffer();
            recordMs(one, monoMs() - started);
          }
          const oneRead = summarize(one);
          const all = await walk(null, Infinity);
          const running = await walk('running', Infinity);
          const pending = await walk('pending', 300);
          for (const [name, w] of [
            ['all', all],
            ['running', running],
            ['pending', pending],
          ] as const) {
            log(`  ${name}: ${w.pages} pages, ${w.sessions} sessions: ${lat(w.latency)}`);
          }
          const worstP99 = Math.max(all.latency.p99Ms, running.latency.p99Ms, pending.latency.p99Ms);
          rows.push({
            id: 'session-list',
            what: `GET /v1/sessions?limit=100 page after page over ${n.toLocaleString('en')} sessions in Redis (1 in ${runningEvery} running, the rest pending), one request at a time`,
            target: '≤ 50 ms p99 with 100,000 sessions',
            measured: `every session (${all.pages} pages): ${lat(all.latency)}; status=running (${running.pages} pages): ${lat(running.latency)}; status=pending (first ${pending.pages} pages): ${lat(pending.latency)}`,
            floor: `GET /v1/sessions/:id of one session: ${lat(oneRead)}`,
            ratio: `×${ratio(all.latency.p50Ms, oneRead.p50Ms)} at p50 for 100 sessions`,
            met: worstP99 <= 50 && n >= 100_000,
            data: {
              sessions: n,
              filledPerSec: Math.round(filledPerSec),
              oneSessionRead: oneRead,
              all,
              running,
              pending,
            },
            notes: [
              "each page reads the status indexes of the 64 buckets from the cursor on (ZRANGE BYLEX, a few ids from each: one status, or all six merged), then GETs the page's sessions",
              `sessions created (and 1 in ${runningEvery} started) through the store's scripts from the benchmark process, ${Math.round(filledPerSec)}/s`,
            ],
          });
        });
      },
    );
  }

  // ---------------------------------------------------------------- connections per instance
  if (wanted('connections')) {
    await guarded(
      rows,
      {
        id: 'connections',
        what: 'WebSocket connections per instance',
        target: '15,000 heartbeating, ≤ 10 KiB each',
      },
      async () => {
        const n = SIZE.connections;
        log(
          `connections: ${n.toLocaleString('en')} heartbeating WebSockets on one instance (heartbeat every ${HEARTBEAT_MS / 1000} s)`,
        );
        const perWorker = n / 2;
        const open = (wsUrl: string, sessionIds: string[], name: string): Promise<unknown> =>
          Promise.all(
            workers.map((w, i) =>
              w.run(
                'connectionsOpen',
                {
                  name,
                  wsUrl,
                  token,
                  sessionIds,
                  count: perWorker,
                  localAddresses: SOURCE_ADDRESSES.filter((_, k) => k % 2 === i),
                },
                300_000,
              ),
            ),
          );
        const status = async (name: string): Promise<{ open: number; pings: number; closed: number }> => {
          const parts = await Promise.all(
            workers.map((w) =>
              w.run<{ open: number; pings: number; closed: number }>('connectionsStatus', { name }),
            ),
          );
          return parts.reduce((x, y) => ({
            open: x.open + y.open,
            pings: x.pings + y.pings,
            closed: x.closed + y.closed,
          }));
        };
        const close = (name: string): Promise<unknown> =>
          Promise.all(workers.map((w) => w.run('connectionsClose', { name })));

        const measured = await withStack(
          'connections',
          1,
          { WS_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) },
          async ({ instances }) => {
            const [a] = instances as [Instance];
            const sessionIds = ids('cn', 100);
            await createSessions(workers, a.httpUrl, token, sessionIds, 3_600_000, true);
            await sleep(1500);
            const rss0 = rssBytes(a.pid);
            await open(a.wsUrl, sessionIds, 'conn');
            await sleep(SIZE.connectionsHoldMs);
            const st = await status('conn');
            const rss1 = rssBytes(a.pid);
            const gauge = metricValue(await metricsOf(a), 'synckairos_websocket_connections', '');
            await close('conn');
            return { rss0, rss1, ...st, gauge };
          },
        );
        const perConn = (measured.rss1 - measured.rss0) / n;
        log(
          `  RSS +${((measured.rss1 - measured.rss0) / 1048576).toFixed(1)} MiB → ${(perConn / 1024).toFixed(2)} KiB/connection; open ${measured.open}, pings ${measured.pings}`,
        );
        // The floor: the bare ws server holding as many idle connections.
        const floorRss0 = rssBytes(floorServer.pid);
        await open(`ws://127.0.0.1:${floorServer.port}/`, [], 'floor');
        await sleep(3000);
        const floorRss1 = rssBytes(floorServer.pid);
        await close('floor');
        const floorPerConn = (floorRss1 - floorRss0) / n;
        log(`  floor: bare ws ${(floorPerConn / 1024).toFixed(2)} KiB/connection`);
        const heartbeats = measured.pings / n;
        rows.push({
          id: 'connections',
          what: `WebSocket connections per instance: ${n.toLocaleString('en')} heartbeating (RSS delta of the server process / count)`,
          target: '15,000 heartbeating, ≤ 10 KiB each',
          measured: `${(perConn / 1024).toFixed(2)} KiB/connection; ${measured.open} of ${n} open after ${SIZE.connectionsHoldMs / 1000} s, ${heartbeats.toFixed(1)} heartbeats each`,
          floor: `bare \`ws\` server, as many idle connections: ${(floorPerConn / 1024).toFixed(2)} KiB each`,
          ratio: `×${ratio(perConn, floorPerConn)}`,
          met: perConn <= 10 * 1024 && measured.open === n && n >= 15_000 && heartbeats >= 1,
          data: {
            ...measured,
            bytesPerConnection: Math.round(perConn),
            floorBytesPerConnection: Math.round(floorPerConn),
            heartbeatsPerConnection: heartbeats,
          },
          notes: [
            `each connection watches one of 100 sessions (?session_id=), as a viewer does; connections from ${SOURCE_ADDRESSES.length} loopback source addresses in 2 load processes`,
            `server heartbeat every ${HEARTBEAT_MS / 1000} s (WS_HEARTBEAT_INTERVAL_MS); the clients' ws answers each ping`,
            ...(QUICK
              ? ['quick mode opens fewer connections than the target names, so it cannot meet it']
              : []),
          ],
        });
      },
    );
  }

  // ---------------------------------------------------------------- report
  const result: RunResult = {
    date: runStartedAt.toISOString(),
    mode: QUICK ? 'quick' : 'full',
    profiled: args.profile,
    priority: args.priority,
    command: `npm run bench${QUICK || args.profile || args.priority || only ? ' --' : ''}${QUICK ? ' --quick' : ''}${args.profile ? ' --profile' : ''}${args.priority ? ' --priority' : ''}${only ? ` --only ${args.only}` : ''}`,
    durationS: Math.round((Date.now() - runStartedAt.getTime()) / 1000),
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
      node: process.version,
      redis: redisVersion,
      os: `${os.type()} ${os.release()}`,
    },
    floors,
    rows: rows.map((row) => ({ ...row, otherLoadCores: contention[row.id]?.foreignCores ?? null })),
    ...(httpLayers === null ? {} : { httpLayers }),
    floorsOtherLoadCores: contention.floors?.foreignCores ?? null,
    profiles: Object.fromEntries(
      Object.entries(profiles).map(([row, list]) => [
        row,
        list.map((p) => ({ ...p, file: path.relative(ROOT, p.file) })),
      ]),
    ),
  };
  const jsonPath = path.join(
    RESULTS_DIR,
    `${runId}${QUICK ? '-quick' : ''}${args.profile ? '-profile' : ''}.json`,
  );
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  if (args.profile) {
    const md = Object.entries(profiles)
      .flatMap(([row, list]) =>
        list.map((p, i) => profileMarkdown(p, `${row}, instance ${String.fromCharCode(65 + i)}`)),
      )
      .join('\n');
    writeFileSync(path.join(RESULTS_DIR, `${runId}-profile.md`), [...profileLayers, md].join('\n'));
    log(`profiles summarized in bench/results/${runId}-profile.md`);
  }
  if (only === null) await rewriteBenchmarksMd(path.join(ROOT, 'BENCHMARKS.md'), result);
  log(
    `results: ${path.relative(ROOT, jsonPath)}${only === null ? '; BENCHMARKS.md rewritten' : ' (--only: BENCHMARKS.md left alone)'}`,
  );
  process.stdout.write(`\n${(await import('./lib/report.js')).markdownTable(result)}\n`);
}

let exiting = false;
async function cleanupAndExit(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  await Promise.all([
    stopAll(),
    ...[...redisServers].map((handle) => handle.close()),
    ...[...postgresServers].map((handle) => handle.close()),
  ]);
  process.exit(code);
}
process.on('SIGINT', () => void cleanupAndExit(130));
process.on('SIGTERM', () => void cleanupAndExit(143));
// The whole run is bounded: quick 3 minutes, full 15, with some slack before it is cut; the layer
// stacks (16 server starts) get their own allowance.
setTimeout(
  () => {
    process.stderr.write('benchmark took too long; stopping everything\n');
    void cleanupAndExit(1);
  },
  ((QUICK ? 6 : 25) + (wanted('http-layers') ? 10 : 0)) * 60_000,
).unref();

main().then(
  () => cleanupAndExit(0),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    void cleanupAndExit(1);
  },
);
