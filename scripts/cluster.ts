// Runs several instances on one Redis, on consecutive ports: `npm run cluster -- --instances 3`.
// Each instance is the ordinary entry point in a process of its own; nothing is shared but Redis.
// `--redis-cluster` starts a local Redis Cluster first (three masters, three replicas, on free
// loopback ports; `redis-server` and `redis-cli` on PATH) and runs the instances on it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisCluster, type RedisClusterHandle } from '../tests/helpers/redisCluster.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    instances: { type: 'string', short: 'n', default: '2' },
    'redis-cluster': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'Usage: npm run cluster -- [--instances N] [--redis-cluster]\n' +
      'Starts N instances (default 2) on ports PORT, PORT+1, … (PORT defaults to 3000),\n' +
      'all on the Redis at REDIS_URL (default redis://127.0.0.1:6379). Other variables pass through.\n' +
      '--redis-cluster: start a local Redis Cluster (3 masters, 3 replicas) and use it instead.\n',
  );
  process.exit(0);
}

const instances = Number(values.instances);
const basePort = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(instances) || instances < 1 || instances > 64) {
  process.stderr.write(`--instances must be an integer from 1 to 64, got '${values.instances}'\n`);
  process.exit(1);
}
if (!Number.isInteger(basePort) || basePort < 1 || basePort + instances - 1 > 65535) {
  process.stderr.write(
    `PORT must leave room for ${instances} consecutive ports, got '${process.env.PORT}'\n`,
  );
  process.exit(1);
}
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const children: ChildProcess[] = [];
let stopping = false;
let redisCluster: RedisClusterHandle | null = null;
if (values['redis-cluster']) {
  redisCluster = await startRedisCluster();
  process.stderr.write(`redis cluster: ${redisCluster.nodesEnv}\n`);
}
const redisEnv =
  redisCluster === null
    ? { REDIS_URL: redisUrl }
    : { REDIS_URL: '', REDIS_CLUSTER_NODES: redisCluster.nodesEnv };

for (let index = 0; index < instances; index++) {
  const port = basePort + index;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), ...redisEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    process.stderr.write(`instance ${index} (port ${port}) exited (${signal ?? code})\n`);
    if (!stopping && children.every((c) => c.exitCode !== null || c.signalCode !== null)) {
      void (redisCluster?.close() ?? Promise.resolve()).finally(() => process.exit(1));
    }
  });
  children.push(child);
}
process.stderr.write(
  `cluster: ${instances} instances on ports ${basePort}–${basePort + instances - 1}, ${
    redisCluster === null ? `Redis ${new URL(redisUrl).host}` : 'the local Redis Cluster'
  }\n`,
);

function stop(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill(signal);
  Promise.all(
    children.map(
      (c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once('exit', resolve))),
    ),
  )
    .then(() => redisCluster?.close())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
