// Several server processes on one Redis: changes cross instances, every deadline is applied
// exactly once, and a killed instance's clients carry on at the other one.
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../src/types/session.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import {
  listeningPort,
  startService,
  stopAllServices,
  type ServiceProcess,
} from '../helpers/serviceProcess.js';
import { callJson } from '../helpers/http.js';

interface Instance {
  service: ServiceProcess;
  http: string;
  ws: string;
}

const SUBSCRIPTIONS_PER_CONNECTION = 100;

async function startInstance(redisUrl: string): Promise<Instance> {
  const service = startService({ PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisUrl, LOG_LEVEL: 'info' });
  const port = listeningPort(await service.waitForLog((line) => line.msg.startsWith('listening')));
  return { service, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/v1/ws` };
}

/**
 * A client watching sessions the way the SDK does: it applies a STATE only when it is newer
 * than what it has, and when its connection drops it reconnects to the next URL and
 * subscribes again.
 */
class Watcher {
  /** Every STATE received, in order, per session. */
  readonly received = new Map<string, SessionView[]>();
  /** The newest state applied, per session. */
  readonly applied = new Map<string, SessionView>();
  /** Snapshots that arrived right after a reconnect, per session. */
  readonly afterReconnect = new Map<string, SessionView>();
  private sockets: WebSocket[] = [];
  private reconnecting = false;
  private closed = false;

  constructor(
    private urls: string[],
    private readonly sessionIds: string[],
  ) {}

  async connect(): Promise<void> {
    const url = this.urls[0];
    if (!url) throw new Error('no instance left to connect to');
    const groups: string[][] = [];
    for (let i = 0; i < this.sessionIds.length; i += SUBSCRIPTIONS_PER_CONNECTION) {
      groups.push(this.sessionIds.slice(i, i + SUBSCRIPTIONS_PER_CONNECTION));
    }
    const subscribed: Promise<void>[] = [];
    this.sockets = groups.map((ids) => {
      const socket = new WebSocket(url);
      const pending = new Set(ids);
      subscribed.push(
        new Promise((resolve, reject) => {
          socket.on('error', reject);
          socket.on('open', () => {
            for (const id of ids) socket.send(JSON.stringify({ type: 'SUBSCRIBE', session_id: id }));
          });
          socket.on('message', (data) => {
            const message = JSON.parse(String(data)) as { type: string; state?: SessionView };
            if (message.type !== 'STATE' || !message.state) return;
            this.onState(message.state);
            pending.delete(message.state.session_id);
            if (pending.size === 0) resolve();
          });
        }),
      );
      socket.on('close', () => void this.onClose());
      return socket;
    });
    await Promise.all(subscribed);
  }

  close(): void {
    this.closed = true;
    for (const socket of this.sockets) socket.terminate();
  }

  events(sessionId: string, event: string): SessionView[] {
    return (this.received.get(sessionId) ?? []).filter((s) => s.event === event);
  }

  private onState(state: SessionView): void {
    const list = this.received.get(state.session_id) ?? [];
    list.push(state);
    this.received.set(state.session_id, list);
    if (this.reconnecting && !this.afterReconnect.has(state.session_id)) {
      this.afterReconnect.set(state.session_id, state);
    }
    const current = this.applied.get(state.session_id);
    if (!current || state.version > current.version) this.applied.set(state.session_id, state);
  }

  private async onClose(): Promise<void> {
    if (this.closed || this.reconnecting) return;
    this.reconnecting = true;
    for (const socket of this.sockets) socket.terminate();
    this.urls = this.urls.slice(1);
    await this.connect();
  }
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function createRunningSessions(
  base: string,
  prefix: string,
  count: number,
  spreadMs: number,
  firstMs = 1_500,
  extra: Record<string, unknown> = {},
) {
  const started: SessionView[] = [];
  for (let i = 0; i < count; i++) {
    const sessionId = `${prefix}-${i}`;
    await callJson(base, 'POST', '/v1/sessions', {
      session_id: sessionId,
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      total_time_ms: firstMs + Math.floor((spreadMs * i) / count),
      ...extra,
    });
    started.push(await callJson(base, 'POST', `/v1/sessions/${sessionId}/start`));
  }
  return started;
}

describe('several instances on one Redis', () => {
  let redis: RedisServerHandle;
  const watchers: Watcher[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });

  afterEach(async () => {
    for (const watcher of watchers.splice(0)) watcher.close();
    await stopAllServices();
  });

  afterAll(async () => {
    await redis?.close();
  });

  it('a switch on instance A reaches a client on instance B', async () => {
    const [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
    const [started] = await createRunningSessions(a!.http, 'cross', 1, 0);
    const watcher = new Watcher([b!.ws], ['cross-0']);
    watchers.push(watcher);
    await watcher.connect();

    const switched = await callJson(a!.http, 'POST', '/v1/sessions/cross-0/switch');
    await until(() => watcher.applied.get('cross-0')?.version === switched.version, 5_000, 'the switch at B');
    expect(watcher.applied.get('cross-0')).toMatchObject({ event: 'switched', active_participant_id: 'b' });
    expect(switched.version).toBe((started?.version ?? 0) + 1);
  });

  it('200 deadlines watched through both instances: each expiry arrives once, never early', async () => {
    const [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
    const started = await createRunningSessions(a!.http, 'expiry', 200, 2_000);
    const ids = started.map((s) => s.session_id);
    const atA = new Watcher([a!.ws], ids);
    const atB = new Watcher([b!.ws], ids);
    watchers.push(atA, atB);
    await Promise.all([atA.connect(), atB.connect()]);

    const allExpired = (w: Watcher) => ids.every((id) => w.applied.get(id)?.status === 'expired');
    await until(() => allExpired(atA) && allExpired(atB), 15_000, 'every session to expire at both');
    // Anything applied twice would show up as a further version; give it time to.
    await new Promise((resolve) => setTimeout(resolve, 300));

    for (const s of started) {
      for (const watcher of [atA, atB]) {
        const expired = watcher.events(s.session_id, 'expired');
        expect(expired).toHaveLength(1);
        expect(expired[0]!.version).toBe(s.version + 1);
        expect(expired[0]!.server_time).toBeGreaterThanOrEqual(s.deadline_at!);
        expect(expired[0]!.updated_at).toBe(s.deadline_at);
      }
      const stored = await callJson(b!.http, 'GET', `/v1/sessions/${s.session_id}`);
      expect(stored).toMatchObject({ status: 'expired', version: s.version + 1 });
    }
    // Two service processes start first: on a loaded machine that alone can take half the default.
  }, 40_000);

  it('30 concurrent exam clocks: each phase crossing and each expiry applied once, at its own instant, never early', async () => {
    const [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
    const totalMs = (i: number) => 2_000 + i * 60;
    const students = Array.from({ length: 30 }, (_, i) => ({
      participant_id: `s${i}`,
      total_time_ms: totalMs(i),
    }));
    await callJson(a!.http, 'POST', '/v1/sessions', {
      session_id: 'exam',
      sync_mode: 'per_participant',
      concurrent: true,
      participants: students,
      phases: [{ name: 'warning', remaining_ms: 1_000 }],
    });
    const atA = new Watcher([a!.ws], ['exam']);
    const atB = new Watcher([b!.ws], ['exam']);
    watchers.push(atA, atB);
    await Promise.all([atA.connect(), atB.connect()]);
    const started = await callJson<SessionView>(a!.http, 'POST', '/v1/sessions/exam/start');
    const startAt = started.start_at!;

    const over = (w: Watcher) => w.applied.get('exam')?.status === 'expired';
    await until(() => over(atA) && over(atB), 15_000, 'every exam clock to run out at both');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const final = await callJson<SessionView>(b!.http, 'GET', '/v1/sessions/exam');
    // created, started, then exactly one phase_changed and one expiry per student.
    expect(final.version).toBe(started.version + 60);
    students.forEach((s, i) => {
      // Charged up to its own deadline, not to when an instance noticed it.
      expect(final.participants[i]).toMatchObject({
        status: 'expired',
        time_used_ms: totalMs(i),
        phase: 'warning',
      });
    });
    for (const watcher of [atA, atB]) {
      const seen = watcher.received.get('exam')!;
      const versions = seen.map((v) => v.version);
      expect(versions).toEqual([...new Set(versions)].sort((x, y) => x - y));
      for (const view of seen) {
        view.participants.forEach((p, i) => {
          if (p.phase === 'warning')
            expect(view.server_time).toBeGreaterThanOrEqual(startAt + totalMs(i) - 1_000);
          if (p.status === 'expired') expect(view.server_time).toBeGreaterThanOrEqual(startAt + totalMs(i));
        });
      }
    }
  }, 40_000);

  it("a killed instance's clients reconnect to the other, and its deadlines are still applied once", async () => {
    const [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
    // Created through A: A's scheduler holds their timers when it dies.
    // The first clock outlasts creating the rest and connecting, even on a loaded machine: it is switched after.
    const started = await createRunningSessions(a!.http, 'killed', 40, 1_500, 5_000);
    const ids = started.map((s) => s.session_id);
    const movingClient = new Watcher([a!.ws, b!.ws], ids);
    const stayingClient = new Watcher([b!.ws], ids);
    watchers.push(movingClient, stayingClient);
    await Promise.all([movingClient.connect(), stayingClient.connect()]);
    await callJson(a!.http, 'POST', '/v1/sessions/killed-0/switch');

    a!.service.proc.kill('SIGKILL');
    await a!.service.exit;

    await until(
      () => ids.every((id) => movingClient.afterReconnect.has(id)),
      10_000,
      'resubscribed snapshots',
    );
    for (const id of ids) {
      // The first snapshot at B is the current state: never older than what the client had.
      const snapshot = movingClient.afterReconnect.get(id)!;
      const before = movingClient.received
        .get(id)!
        .filter((s) => s !== snapshot && s.version <= snapshot.version);
      expect(snapshot.version).toBeGreaterThanOrEqual(Math.max(...before.map((s) => s.version)));
    }

    const allExpired = (w: Watcher) => ids.every((id) => w.applied.get(id)?.status === 'expired');
    await until(
      () => allExpired(movingClient) && allExpired(stayingClient),
      15_000,
      'every session to expire',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const s of started) {
      const expired = stayingClient.events(s.session_id, 'expired');
      expect(expired).toHaveLength(1);
      expect(expired[0]!.server_time).toBeGreaterThanOrEqual(expired[0]!.updated_at);
      const versions = stayingClient.received.get(s.session_id)!.map((x) => x.version);
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
    }
    expect(movingClient.applied.get('killed-0')?.version).toBe(started[0]!.version + 2);
  }, 40_000);
  it('a killed instance loses no phase crossing: the other applies each once, never early', async () => {
    const [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
    // Created and started through A, whose scheduler holds their timers when it dies; each
    // crosses into `warning` a second before its flag, 3–5 s after its start.
    const phases = [{ name: 'warning', remaining_ms: 1_000 }];
    const started = await createRunningSessions(a!.http, 'phased', 30, 2_000, 4_000, { phases });
    const ids = started.map((s) => s.session_id);
    const atB = new Watcher([b!.ws], ids);
    watchers.push(atB);
    await atB.connect();

    const killedAtMs = Date.now();
    a!.service.proc.kill('SIGKILL');
    await a!.service.exit;
    // The test is about crossings A never got to: most are still ahead when it dies.
    const ahead = started.filter((s) => s.participants[0]!.next_phase_at! > killedAtMs + 100);
    expect(ahead.length).toBeGreaterThan(started.length / 2);

    const over = (id: string) => atB.applied.get(id)?.status === 'expired';
    await until(() => ids.every(over), 20_000, 'every phased clock to run out');
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const s of started) {
      const crossingAt = s.participants[0]!.next_phase_at!;
      const crossings = atB.events(s.session_id, 'phase_changed');
      expect(crossings).toHaveLength(1);
      expect(crossings[0]!.version).toBe(s.version + 1);
      expect(crossings[0]!.participants[0]!.phase).toBe('warning');
      expect(crossings[0]!.server_time).toBeGreaterThanOrEqual(crossingAt);
      expect(atB.events(s.session_id, 'expired')).toHaveLength(1);
    }
  }, 40_000);
});
