// The lifecycle the private test servers (redis-server, postgres) share: spawn on a free loopback
// port, poll until it answers, stop with a clean-shutdown signal, start again on the same port.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { freePort } from './freePort.js';
import { guardAgainstOrphan } from './orphanGuard.js';

export interface ServerProcessOptions {
  /** How error messages name the server, e.g. `redis-server`. */
  name: string;
  command: string;
  args(port: number): string[];
  spawnOptions?: SpawnOptions;
  /** One readiness probe; false while the server is down or still starting up. */
  isReady(port: number): Promise<boolean>;
  readyTimeoutMs: number;
  /** Sent by stop(); `killSignal` follows when the server has not exited within `exitTimeoutMs`. */
  stopSignal: NodeJS.Signals;
  killSignal: NodeJS.Signals;
  exitTimeoutMs: number;
  /** The server's own folder, removed by close(), and after `killSignal` if the test process dies first. */
  dir: string;
}

export interface ServerProcess {
  /** 0 until startOnFreePort() has succeeded. */
  readonly port: number;
  /** Spawns it on a free port and waits until it is ready; after the last failed try, cleans up and rejects. */
  startOnFreePort(): Promise<void>;
  /** Stops it and waits for its exit; the port is kept for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port; a no-op while it runs. */
  start(): Promise<void>;
  /** Stops it and removes its folder; safe to call twice. */
  close(): Promise<void>;
  /** Sends a signal to the running server (SIGSTOP/SIGCONT: a hung server); a no-op when none runs. */
  kill(signal: NodeJS.Signals): void;
}

const START_ATTEMPTS = 3;

export function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Keeps the tail of a child's output for error messages; reading it also keeps the pipes from filling. */
export function keepOutputTail(child: ChildProcess): () => string {
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('error', (err) => {
    output += `\n${err.message}`;
  });
  return () => output;
}

export function serverProcess(options: ServerProcessOptions): ServerProcess {
  const { name } = options;
  let port = 0;
  let child: ChildProcess | null = null;
  let closed = false;

  async function spawnServer(): Promise<void> {
    const proc = spawn(options.command, options.args(port), {
      ...options.spawnOptions,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = keepOutputTail(proc);
    child = proc;
    guardAgainstOrphan(proc, { signal: options.killSignal, removeDir: options.dir });

    const deadline = Date.now() + options.readyTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`${name} on port ${port} exited early:\n${output()}`);
      }
      if (await options.isReady(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(
      `${name} on port ${port} was not ready within ${options.readyTimeoutMs} ms:\n${output()}`,
    );
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = null;
    if (proc === null) return;
    proc.kill(options.stopSignal);
    const killer = setTimeout(() => proc.kill(options.killSignal), options.exitTimeoutMs);
    await waitForExit(proc);
    clearTimeout(killer);
  }

  return {
    get port() {
      return port;
    },
    async startOnFreePort() {
      // Another process may take the free port before the server binds it; try a fresh one then.
      for (let attempt = 1; ; attempt++) {
        port = await freePort();
        try {
          await spawnServer();
          return;
        } catch (err) {
          await stop();
          if (attempt >= START_ATTEMPTS) {
            await rm(options.dir, { recursive: true, force: true });
            throw err;
          }
        }
      }
    },
    stop,
    async start() {
      if (closed) throw new Error(`${name} handle is closed`);
      if (child !== null) return;
      await spawnServer();
    },
    kill(signal) {
      child?.kill(signal);
    },
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      await rm(options.dir, { recursive: true, force: true });
    },
  };
}
