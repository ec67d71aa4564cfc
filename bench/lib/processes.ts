// The processes a benchmark run starts: server instances (the real entry point), the bare floor
// server, and load workers. Every one is tracked and stopped by stopAll(), whatever happened.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onJsonLines } from '../../tests/helpers/jsonLines.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STARTUP_BOUND_MS = 20_000;
const STOP_BOUND_MS = 12_000;

const started = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

function waitForExit(child: ChildProcess, boundMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
  });
}

/** Stops one process: SIGTERM (so --cpu-prof can write its profile), SIGKILL after a bound. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await waitForExit(child, STOP_BOUND_MS);
}

/** Stops every process this run started (on success, failure or a signal). */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => stopProcess(child)));
}

/** Resident set size of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** Total CPU time (user + system) of a process in ms, from /proc (Linux). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat; after "pid (comm) " they are at 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/** The pid of the process whose command line holds every one of `parts`, if one runs. */
export function findPid(parts: readonly string[]): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // gone meanwhile
    }
    if (parts.every((part) => cmdline.includes(part))) return Number(entry);
  }
  return null;
}

function statFields(pid: number): string[] {
  // After "pid (comm) ": ppid at 1, utime 11, stime 12, cutime 13, cstime 14 (clock ticks).
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
}

/** The processes whose parent is `pid`, running now. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/**
 * CPU ms of a process and its children, those exited (reaped into its own counters) and those
 * running: PostgreSQL's postmaster and its backends, say.
 */
export function treeCpuMs(pid: number): number {
  const own = statFields(pid);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const child of childPids(pid)) {
    try {
      const fields = statFields(child);
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile: its time is in the parent's counters now
    }
  }
  return (ticks * 1000) / 100;
}

/**
 * Binds every thread of each process to the given CPUs (`'0'`, `'1'`, `'0-1'`); what they fork or
 * start afterwards inherits it. taskset (util-linux), because Node has no sched_setaffinity.
 * False when it cannot (not Linux, no taskset, fewer CPUs).
 */
export function pinToCpus(pids: readonly number[], cpus: string): boolean {
  let pinned = true;
  for (const pid of pids) {
    const result = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], {
      stdio: 'ignore',
    });
    pinned &&= result.status === 0;
  }
  return pinned;
}

export interface Instance {
  name: string;
  proc: ChildProcess;
  pid: number;
  port: number;
  httpUrl: string;
  wsUrl: string;
  /** Startup log fields: the Redis clock's offset and round trip. */
  clock: { offsetMs: number; roundTripMs: number } | null;
  stderr(): string;
}

export interface InstanceOptions {
  name: string;
  /** Null: embedded mode (pass a DATA_DIR of its own in `env`). */
  redisUrl: string | null;
  env: Record<string, string>;
  /** Set: the process runs with --cpu-prof and writes its profile into this folder on exit. */
  profileDir?: string | undefined;
}

/** `src/index.ts` under tsx with PORT=0; resolves once it logs the port it listens on. */
export function startInstance(options: InstanceOptions): Promise<Instance> {
  // One folder per instance: V8 writes a profile per thread (tsx's loader hooks run in a thread of their own).
  const execArgv = options.profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(options.profileDir, options.name)}`]
    : [];
  const proc = track(
    spawn(process.execPath, [...execArgv, '--import', 'tsx', 'src/index.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        ...(options.redisUrl === null ? {} : { REDIS_URL: options.redisUrl }),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    let clock: Instance['clock'] = null;
    const timer = setTimeout(() => {
      reject(new Error(`${options.name} did not log its port within ${STARTUP_BOUND_MS} ms:\n${stderr}`));
    }, STARTUP_BOUND_MS);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code}) before listening:\n${stderr}`));
    });
    onJsonLines(proc.stdout, (line) => {
      if (typeof line.clockOffsetMs === 'number' && typeof line.clockRoundTripMs === 'number') {
        clock = { offsetMs: line.clockOffsetMs, roundTripMs: line.clockRoundTripMs };
      }
      if (typeof line.msg === 'string' && line.msg.startsWith('listening') && typeof line.port === 'number') {
        clearTimeout(timer);
        const port = line.port;
        resolve({
          name: options.name,
          proc,
          pid: proc.pid!,
          port,
          httpUrl: `http://127.0.0.1:${port}`,
          wsUrl: `ws://127.0.0.1:${port}/v1/ws`,
          clock,
          stderr: () => stderr,
        });
      }
    });
  });
}

export interface FloorServer {
  proc: ChildProcess;
  pid: number;
  port: number;
}

/** The bare node:http + `ws` echo server the floors are measured against, in its own process. */
export function startFloorServer(): Promise<FloorServer> {
  const proc = track(
    fork(path.join(ROOT, 'bench/floorServer.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('floor server did not start')), STARTUP_BOUND_MS);
    proc.once('message', (message: { port: number }) => {
      clearTimeout(timer);
      resolve({ proc, pid: proc.pid!, port: message.port });
    });
    proc.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
  });
}

/** bench/httpStacks.ts: the REST switch path stacked to `depth` layers on one framework. */
export function startHttpStack(
  framework: 'node' | 'express' | 'fastify',
  depth: number,
  env: Record<string, string>,
): Promise<FloorServer> {
  const proc = track(
    fork(path.join(ROOT, 'bench/httpStacks.ts'), [framework, String(depth)], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  return new Promise((resolve, reject) => {
    // Each stack creates its sessions before it listens: a busy machine needs longer.
    const timer = setTimeout(
      () => reject(new Error(`${framework} stack did not start`)),
      3 * STARTUP_BOUND_MS,
    );
    proc.once('message', (message: { port: number }) => {
      clearTimeout(timer);
      resolve({ proc, pid: proc.pid!, port: message.port });
    });
    proc.once('exit', (code) => reject(new Error(`${framework} stack exited (${code})`)));
  });
}

/** A load worker: a forked process that runs tasks (bench/worker.ts) and answers over IPC. */
export class Worker {
  readonly proc: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly name: string) {
    this.proc = track(
      fork(path.join(ROOT, 'bench/worker.ts'), [name], {
        cwd: ROOT,
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    this.proc.on('message', (message: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${name}: ${message.error}`));
    });
    this.proc.once('exit', (code, signal) => {
      for (const waiter of this.waiting.values())
        waiter.reject(new Error(`${name} exited (${signal ?? code})`));
      this.waiting.clear();
    });
  }

  /** Runs one task in the worker; rejects if it fails, the worker dies, or it outlives `boundMs`. */
  run<T>(task: string, params: unknown, boundMs = 120_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: task ${task} took longer than ${boundMs} ms`));
      }, boundMs);
      this.waiting.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.proc.send({ id, task, params });
    });
  }

  stop(): Promise<void> {
    return stopProcess(this.proc);
  }
}
