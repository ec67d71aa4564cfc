// The real entry point as a child process: mode selection, the startup log, refusal of bad
// configuration, and a clean exit on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STARTUP_BOUND_MS = 15_000;

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface ServiceProcess {
  proc: ChildProcess;
  logs: LogLine[];
  /** stdout lines that were not JSON (there should be none: logs are JSON when stdout is no TTY). */
  otherLines: string[];
  stderr(): string;
  waitForLog(predicate: (line: LogLine) => boolean): Promise<LogLine>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ServiceProcess[] = [];

/** `src/index.ts` under tsx, with only the variables given (plus PATH/HOME to find node). */
function startService(env: Record<string, string>): ServiceProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const otherLines: string[] = [];
  const waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let stdoutBuffer = '';
  let stderr = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    stdoutBuffer += chunk.toString();
    let newline = stdoutBuffer.indexOf('\n');
    while (newline >= 0) {
      const text = stdoutBuffer.slice(0, newline);
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      newline = stdoutBuffer.indexOf('\n');
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        otherLines.push(text);
        continue;
      }
      logs.push(line);
      for (const waiter of waiters.filter((w) => w.predicate(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
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

function listeningPort(line: LogLine): number {
  const port = line.port;
  if (typeof port !== 'number') throw new Error(`listening line without a port: ${JSON.stringify(line)}`);
  return port;
}

/** A loopback port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

afterEach(async () => {
  for (const service of running.splice(0)) {
    if (service.proc.exitCode === null && service.proc.signalCode === null) {
      service.proc.kill('SIGKILL');
      await service.exit;
    }
  }
});

describe('starting the service', () => {
  let redisServer: RedisServerHandle;

  beforeAll(async () => {
    redisServer = await startRedisServer();
  });

  afterAll(async () => {
    await redisServer?.close();
  });

  it('without REDIS_URL it runs embedded on the free port PORT=0 picked, serves the API and exits 0 on SIGTERM', async () => {
    const service = startService({ PORT: '0', HOST: '127.0.0.1' });
    const modeLine = await service.waitForLog((line) => line.mode === 'embedded' && /mode/.test(line.msg));
    expect(modeLine.msg).toMatch(/embedded/);
    const listening = await service.waitForLog((line) => /^listening/.test(line.msg));
    const port = listeningPort(listening);
    expect(port).toBeGreaterThan(0);
    expect(listening.msg).toContain(String(port));

    const time = await fetch(`http://127.0.0.1:${port}/v1/time`);
    expect(time.status).toBe(200);
    expect(typeof ((await time.json()) as { server_time: unknown }).server_time).toBe('number');

    const created = await fetch(`http://127.0.0.1:${port}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sync_mode: 'per_participant',
        participants: [{ participant_id: 'w' }, { participant_id: 'b' }],
        total_time_ms: 300_000,
      }),
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { version: number }).version).toBe(1);

    service.proc.kill('SIGTERM');
    expect(await service.exit).toEqual({ code: 0, signal: null });
    expect(service.logs.some((line) => line.msg === 'shutting down')).toBe(true);
    expect(service.otherLines).toEqual([]);
  });

  it('with REDIS_URL it runs distributed and says on which Redis', async () => {
    const service = startService({ PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisServer.url });
    const modeLine = await service.waitForLog((line) => line.mode === 'distributed' && /mode/.test(line.msg));
    expect(modeLine.redis).toBe(`127.0.0.1:${redisServer.port}`);
    const port = listeningPort(await service.waitForLog((line) => /^listening/.test(line.msg)));

    const created = await fetch(`http://127.0.0.1:${port}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sync_mode: 'global',
        participants: [{ participant_id: 'a' }],
        total_time_ms: 1000,
      }),
    });
    expect(created.status).toBe(201);
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(await ready.json()).toEqual({ status: 'ready', store: 'redis' });

    service.proc.kill('SIGTERM');
    expect(await service.exit).toEqual({ code: 0, signal: null });
  });

  it('PORT=abc is refused: exit code 1 and a message naming PORT', async () => {
    const service = startService({ PORT: 'abc' });
    const { code } = await service.exit;
    expect(code).toBe(1);
    expect(service.stderr()).toMatch(/PORT: must be an integer from 0 to 65535, got 'abc'/);
  });

  it('a REDIS_URL nobody answers on is refused: exit code 1 saying Redis is unreachable', async () => {
    const port = await closedPort();
    const service = startService({ PORT: '0', REDIS_URL: `redis://127.0.0.1:${port}` });
    const { code } = await service.exit;
    expect(code).toBe(1);
    expect(service.stderr()).toMatch(new RegExp(`Redis is unreachable at 127\\.0\\.0\\.1:${port}`));
    expect(service.logs.some((line) => /^listening/.test(line.msg))).toBe(false);
  });

  it('startServer runs the whole service in-process on a free port, and close() is safe twice', async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisServer.url, NODE_ENV: 'test' });
    const server = await startServer(config, {
      logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
    });
    try {
      expect(server.mode).toBe('distributed');
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const ready = await fetch(`${server.url}/ready`);
      expect(await ready.json()).toEqual({ status: 'ready', store: 'redis' });
    } finally {
      await Promise.all([server.close(), server.close()]);
    }
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});
