// The real entry point as a child process, with its JSON log lines parsed as they come.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onJsonLines } from './jsonLines.js';
import { guardAgainstOrphan } from './orphanGuard.js';
import { testDataDir } from './testDataDir.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Generous: on a busy 2-core machine tsx alone takes ~10 s to load the service. */
const STARTUP_BOUND_MS = 30_000;

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ServiceProcess {
  proc: ChildProcess;
  logs: LogLine[];
  /** stdout lines that were not JSON (there should be none: logs are JSON when stdout is no TTY). */
  otherLines: string[];
  stderr(): string;
  waitForLog(predicate: (line: LogLine) => boolean): Promise<LogLine>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ServiceProcess[] = [];

/**
 * An entry point (the service's `src/index.ts` unless named) under tsx, with only the variables
 * given (plus PATH/HOME to find node).
 */
export function startService(env: Record<string, string>, entry = 'src/index.ts'): ServiceProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      DATA_DIR: testDataDir(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its DATA_DIR stays: a test may start another instance on it.
  guardAgainstOrphan(proc, { signal: 'SIGKILL' });
  const logs: LogLine[] = [];
  const otherLines: string[] = [];
  const waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let stderr = '';
  onJsonLines<LogLine>(
    proc.stdout,
    (line) => {
      logs.push(line);
      for (const waiter of waiters.filter((w) => w.predicate(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    },
    (text) => otherLines.push(text),
  );
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const service: ServiceProcess = {
    proc,
    logs,
    otherLines,
    stderr: () => stderr,
    exit,
    waitForLog(predicate) {
      const seen = logs.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no such log line within ${STARTUP_BOUND_MS} ms; stderr: ${stderr}`)),
          STARTUP_BOUND_MS,
        );
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exit.then(({ code }) =>
          reject(new Error(`exited (${code}) before the log line; stderr: ${stderr}`)),
        );
      });
    },
  };
  running.push(service);
  return service;
}

/** A service on a free loopback port with the rate limit off, once it listens, and its base URL. */
export async function startHttpService(
  env: Record<string, string>,
): Promise<{ service: ServiceProcess; http: string }> {
  const service = startService({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    RATE_LIMIT_MAX: '0',
    ...env,
  });
  const port = listeningPort(await service.waitForLog((line) => line.msg.startsWith('listening')));
  return { service, http: `http://127.0.0.1:${port}` };
}

export function listeningPort(line: LogLine): number {
  const port = line.port;
  if (typeof port !== 'number') throw new Error(`listening line without a port: ${JSON.stringify(line)}`);
  return port;
}

/** SIGKILLs every service still running (for afterEach). */
export async function stopAllServices(): Promise<void> {
  for (const service of running.splice(0)) {
    if (service.proc.exitCode === null && service.proc.signalCode === null) {
      service.proc.kill('SIGKILL');
      await service.exit;
    }
  }
}
