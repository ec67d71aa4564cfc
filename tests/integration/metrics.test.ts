// /metrics carries what an operator needs, fed by the running service: command latency,
// delivery lag to WebSocket watchers, connections, watched sessions, Redis connection errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { openSocket } from '../helpers/wsClient.js';

async function metricsText(server: RunningServer): Promise<string> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function post(server: RunningServer, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
}

describe('/metrics', () => {
  let redis: RedisServerHandle;
  let server: RunningServer;

  beforeAll(async () => {
    redis = await startRedisServer();
    server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', REDIS_URL: redis.url, NODE_ENV: 'test' }),
      { logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }) },
    );
  });

  afterAll(async () => {
    await server?.close();
    await redis?.close();
  });

  it('a switch watched over WebSocket shows in command latency, delivery lag, connections and watched sessions', async () => {
    await post(server, '/v1/sessions', {
      session_id: 'm-1',
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      total_time_ms: 60_000,
    });
    const socket = await openSocket(`${server.url.replace('http', 'ws')}/v1/ws?session_id=m-1`);
    try {
      await socket.nextState('m-1');
      await post(server, '/v1/sessions/m-1/start');
      await post(server, '/v1/sessions/m-1/switch');
      await socket.nextState('m-1', (state) => state.version === 3);
      const text = await metricsText(server);
      expect(sample(text, 'synckairos_command_duration_seconds_count{command="switch"}')).toBe(1);
      expect(sample(text, 'synckairos_delivery_lag_seconds_count')).toBeGreaterThanOrEqual(2);
      const lagSum = sample(text, 'synckairos_delivery_lag_seconds_sum') ?? -1;
      expect(lagSum).toBeGreaterThanOrEqual(0);
      expect(lagSum).toBeLessThan(1);
      expect(sample(text, 'synckairos_websocket_connections')).toBe(1);
      expect(sample(text, 'synckairos_watched_sessions')).toBe(1);
      // The running session's one deadline, armed or noted by this instance's scheduler.
      const held = ['armed', 'noted'].map((h) => sample(text, `synckairos_scheduler_deadlines{held="${h}"}`));
      expect(held[0]! + held[1]!).toBe(1);
      expect(text).toContain('# TYPE synckairos_redis_errors_total counter');

      // Over WebSocket as over REST: applied and refused commands are both timed.
      expect((await socket.request({ type: 'SWITCH', request_id: 'w1' })).type).toBe('ACK');
      expect((await socket.request({ type: 'RESUME', request_id: 'w2' })).type).toBe('ERROR');
      const after = await metricsText(server);
      expect(sample(after, 'synckairos_command_duration_seconds_count{command="switch"}')).toBe(2);
      expect(sample(after, 'synckairos_command_duration_seconds_count{command="resume"}')).toBe(1);
    } finally {
      await socket.close();
    }
  });

  it("follows promtool's naming rules: every counter ends in _total, no gauge or untyped metric does", async () => {
    const text = await metricsText(server);
    const types = new Map<string, string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm))
      types.set(name as string, type as string);
    expect(types.size).toBeGreaterThan(10);
    // A sample with no TYPE line is untyped.
    for (const [, name] of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) {
      const family = (name as string).replace(/_(bucket|sum|count)$/, '');
      if (!types.has(name as string) && !types.has(family)) types.set(name as string, 'untyped');
    }
    for (const [name, type] of types) {
      if (type === 'counter') expect(name, `counter ${name}`).toMatch(/_total$/);
      if (type === 'gauge' || type === 'untyped') expect(name, `${type} ${name}`).not.toMatch(/_total$/);
    }
    // Still there: what an operator watches in the process itself.
    for (const kept of [
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_active_handles',
    ]) {
      expect(types.get(kept), kept).toBe('gauge');
    }
  });

  it('a Redis outage counts Redis connection errors', async () => {
    await redis.stop();
    try {
      const deadline = Date.now() + 5_000;
      let errors = 0;
      while (errors === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        errors =
          sample(await metricsText(server), 'synckairos_redis_errors_total{connection="commands"}') ?? 0;
      }
      expect(errors).toBeGreaterThan(0);
    } finally {
      await redis.start();
    }
  });
});
