// A private Redis Cluster per test file: three masters and three replicas on free loopback ports
// (`redis-server --cluster-enabled yes`, `redis-cli --cluster create`), torn down however the run
// ends. A failover test kills a master's process; its replica takes over.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './freePort.js';
import { redisNodeProcess } from './redisServer.js';
import { redisServerProgram } from './redisServerProgram.js';
import type { ServerProcess } from './serverProcess.js';

const run = promisify(execFile);

const MASTERS = 3;
const REPLICAS_PER_MASTER = 1;
const READY_TIMEOUT_MS = 15_000;
/** Short, so a killed master's replica is promoted within a few seconds. */
const NODE_TIMEOUT_MS = 1_000;

export interface RedisClusterHandle {
  /** Every node's `host:port`, the value of REDIS_CLUSTER_NODES. */
  readonly nodesEnv: string;
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  /** The slot of `key`, as the cluster computes it. */
  keySlot(key: string): Promise<number>;
  /** The port of the master that serves `slot` now. */
  masterPortOf(slot: number): Promise<number>;
  /** The ports of the current masters. */
  masterPorts(): Promise<number[]>;
  /** SIGKILLs the node on `port` (no clean shutdown) and waits until the cluster serves every slot again. */
  killNode(port: number): Promise<void>;
  /** Stops every node and removes their folders; safe to call twice. */
  close(): Promise<void>;
}

async function withNode<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** CLUSTER SHARDS-free (7.0 has it, but SLOTS is enough): slot ranges → master port. */
async function slotMap(port: number): Promise<Array<[from: number, to: number, masterPort: number]>> {
  const slots = await withNode(port, (redis) => redis.cluster('SLOTS'));
  return slots.map(([from, to, master]) => [from, to, master![1]]);
}

async function clusterOk(port: number): Promise<boolean> {
  try {
    const info = await withNode(port, (redis) => redis.cluster('INFO'));
    return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info);
  } catch {
    return false;
  }
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`redis cluster: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function startNode(clusterDir: string): Promise<ServerProcess> {
  // A folder of its own: closing one node (a failover test) removes only its own files.
  const dir = await mkdtemp(path.join(clusterDir, 'node-'));
  const command = await redisServerProgram();
  // The cluster bus gets a port of its own (Redis 7's cluster-port), not port + 10000.
  const busPort = await freePort();
  const server = redisNodeProcess({
    name: 'redis-server (cluster node)',
    command,
    dir,
    readyTimeoutMs: READY_TIMEOUT_MS,
    extraArgs: (port) => [
      '--cluster-port',
      String(busPort),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      String(NODE_TIMEOUT_MS),
    ],
  });
  await server.startOnFreePort();
  return server;
}

/** redis-cli beside the redis-server the tests use (a build keeps both in one folder), else the PATH's. */
async function redisCliProgram(): Promise<string> {
  const beside = path.join(path.dirname(await redisServerProgram()), 'redis-cli');
  return existsSync(beside) ? beside : 'redis-cli';
}

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'synckairos-redis-cluster-'));
  const servers: ServerProcess[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all(servers.map((server) => server.close()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < MASTERS * (1 + REPLICAS_PER_MASTER); i++) servers.push(await startNode(dir));
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await run(
      await redisCliProgram(),
      [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        String(REPLICAS_PER_MASTER),
        '--cluster-yes',
      ],
      { timeout: READY_TIMEOUT_MS },
    );
    await until(
      async () => (await Promise.all(servers.map((server) => clusterOk(server.port)))).every(Boolean),
      READY_TIMEOUT_MS,
      'every node to see every slot served',
    );
  } catch (err) {
    await close();
    throw err;
  }

  const live = (): ServerProcess[] => servers.filter((server) => !killed.has(server.port));
  const killed = new Set<number>();
  const anyLivePort = (): number => live()[0]!.port;
  return {
    nodesEnv: servers.map((server) => `127.0.0.1:${server.port}`).join(','),
    nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })),
    keySlot: (key) => withNode(anyLivePort(), (redis) => redis.cluster('KEYSLOT', key)),
    async masterPortOf(slot) {
      const range = (await slotMap(anyLivePort())).find(([from, to]) => slot >= from && slot <= to);
      if (range === undefined) throw new Error(`redis cluster: slot ${slot} is not served`);
      return range[2];
    },
    async masterPorts() {
      return [...new Set((await slotMap(anyLivePort())).map(([, , port]) => port))];
    },
    async killNode(port) {
      const server = servers.find((candidate) => candidate.port === port);
      if (server === undefined) throw new Error(`redis cluster: no node on ${port}`);
      killed.add(port);
      server.kill('SIGKILL');
      await until(
        async () => {
          if (!(await clusterOk(anyLivePort()))) return false;
          return (await slotMap(anyLivePort())).every(([, , masterPort]) => masterPort !== port);
        },
        READY_TIMEOUT_MS,
        `a replica to take over from the master on ${port}`,
      );
    },
    close,
  };
}
