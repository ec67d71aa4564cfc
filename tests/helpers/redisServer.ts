// A private redis-server per test file, on a free loopback port, that a failure test can stop
// and start again on the same port. Never the shared Redis on 6379. The program is the system's
// or redis-memory-server's build (see redisServerProgram.ts).
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { redisServerProgram } from './redisServerProgram.js';
import { serverProcess, type ServerProcess } from './serverProcess.js';

export interface RedisServerHandle {
  url: string;
  port: number;
  /** Kills the server (SIGTERM, waits for exit); the port is kept for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence). */
  start(): Promise<void>;
  /**
   * Freezes the process (SIGSTOP): connections stay open and commands are accepted by the
   * kernel but not answered, as with a hung Redis. resume() (SIGCONT) lets it run the backlog.
   */
  pause(): void;
  resume(): void;
  /** Stops it and removes its directory; safe to call twice. */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 5_000;

/** One raw `PING` over TCP; resolves true on `+PONG`. */
export function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * A redis-server process on a free loopback port that keeps nothing on disk, in `dir`; `extraArgs`
 * are the flags of its kind (a cluster node's).
 */
export function redisNodeProcess(options: {
  name: string;
  command: string;
  dir: string;
  readyTimeoutMs: number;
  extraArgs?: (port: number) => string[];
}): ServerProcess {
  const { name, command, dir, readyTimeoutMs, extraArgs = () => [] } = options;
  return serverProcess({
    name,
    command,
    args: (port) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      ...extraArgs(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
    ],
    isReady: pingOnce,
    readyTimeoutMs,
    stopSignal: 'SIGTERM',
    killSignal: 'SIGKILL',
    exitTimeoutMs: EXIT_TIMEOUT_MS,
    dir,
  });
}

export async function startRedisServer(): Promise<RedisServerHandle> {
  const command = await redisServerProgram();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'synckairos-redis-'));
  const server = redisNodeProcess({ name: 'redis-server', command, dir, readyTimeoutMs: READY_TIMEOUT_MS });
  await server.startOnFreePort();

  let paused = false;
  const resume = (): void => {
    if (!paused) return;
    paused = false;
    server.kill('SIGCONT');
  };
  return {
    url: `redis://127.0.0.1:${server.port}`,
    port: server.port,
    // A stopped process would hold SIGTERM pending until the exit timeout's SIGKILL.
    stop: async () => {
      resume();
      await server.stop();
    },
    start: server.start,
    pause() {
      paused = true;
      server.kill('SIGSTOP');
    },
    resume,
    close: async () => {
      resume();
      await server.close();
    },
  };
}
