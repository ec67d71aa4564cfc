// The real entry point as a child process: mode selection, the startup log, refusal of bad
// configuration, and a clean exit on SIGTERM.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { freePort } from '../helpers/freePort.js';
import { listeningPort, startService, stopAllServices } from '../helpers/serviceProcess.js';

afterEach(stopAllServices);

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
    const port = await freePort();
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
