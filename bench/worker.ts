// A load worker: forked by the benchmark, runs the tasks it is sent over IPC against the servers
// on loopback, and answers with counts and HDR histograms (encoded). Every task is bounded.
import http from 'node:http';
import { Redis } from 'ioredis';
import type WebSocket from 'ws';
import { connect } from '@synckairos/client';
import { encodeHistogram, newHistogram, recordMs, type Histogram } from './lib/hdr.js';
import {
  fieldOf,
  httpRequest,
  inBatches,
  monoMs,
  openSocket,
  paced,
  sleep,
  type OpenOptions,
} from './lib/load.js';

type Task = (params: never) => Promise<unknown>;

const tasks: Record<string, Task> = {};
function task<P>(name: string, run: (params: P) => Promise<unknown>): void {
  tasks[name] = run as Task;
}

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

function countInto(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

// ---------------------------------------------------------------- floors

task('floorRedis', async (p: { redisUrl: string; count: number; warmup: number }) => {
  const redis = new Redis(p.redisUrl, { lazyConnect: true, enableAutoPipelining: false });
  await redis.connect();
  redis.defineCommand('benchTrivial', { numberOfKeys: 0, lua: 'return 1' });
  const call = (): Promise<unknown> =>
    (redis as unknown as { benchTrivial(): Promise<unknown> }).benchTrivial();
  const histogram = newHistogram();
  for (let i = 0; i < p.warmup; i++) await call();
  for (let i = 0; i < p.count; i++) {
    const t0 = monoMs();
    await call();
    recordMs(histogram, monoMs() - t0);
  }
  await redis.quit();
  return { histogram: encodeHistogram(histogram) };
});

task('floorHttp', async (p: { url: string; count: number; warmup: number }) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(p.url);
  const histogram = newHistogram();
  for (let i = 0; i < p.warmup + p.count; i++) {
    const t0 = monoMs();
    const reply = await httpRequest(agent, url, 'POST', { 'content-type': 'application/json' }, '{}');
    if (reply.status !== 200) throw new Error(`floor HTTP answered ${reply.status}`);
    if (i >= p.warmup) recordMs(histogram, monoMs() - t0);
  }
  agent.destroy();
  return { histogram: encodeHistogram(histogram) };
});

task('floorWs', async (p: { url: string; count: number; warmup: number }) => {
  const ws = await openSocket(p.url);
  const histogram = newHistogram();
  const message = JSON.stringify({ type: 'SWITCH', request_id: 'r0000001', session_id: 'bench-s-000001' });
  for (let i = 0; i < p.warmup + p.count; i++) {
    const t0 = monoMs();
    await new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(message);
    });
    if (i >= p.warmup) recordMs(histogram, monoMs() - t0);
  }
  ws.close();
  return { histogram: encodeHistogram(histogram) };
});

// ---------------------------------------------------------------- setup

interface CreateParams {
  httpUrl: string;
  token?: string;
  ids: string[];
  /** Bank of each session; one value, or one per id. */
  totalTimeMs: number | number[];
  start: boolean;
  concurrency: number;
  /** The sessions' phases, if any (DESIGN §12.2). */
  phases?: { name: string; remaining_ms: number }[];
}

task('createSessions', async (p: CreateParams) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: p.concurrency });
  const base = new URL(p.httpUrl);
  const headers = { ...authHeaders(p.token), 'content-type': 'application/json' };
  const failures: Record<string, number> = {};
  let stateBytes = 0;
  await inBatches(p.ids.length, p.concurrency, async (i) => {
    const id = p.ids[i]!;
    const bank = Array.isArray(p.totalTimeMs) ? p.totalTimeMs[i]! : p.totalTimeMs;
    const body = JSON.stringify({
      session_id: id,
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
      total_time_ms: bank,
      increment_ms: 0,
      ...(p.phases === undefined ? {} : { phases: p.phases }),
    });
    const created = await httpRequest(agent, new URL('/v1/sessions', base), 'POST', headers, body);
    if (created.status !== 201) return countInto(failures, `create ${created.status}`);
    if (i === 0) stateBytes = Buffer.byteLength(created.body);
    if (!p.start) return;
    const started = await httpRequest(
      agent,
      new URL(`/v1/sessions/${id}/start`, base),
      'POST',
      headers,
      '{}',
    );
    if (started.status !== 200) countInto(failures, `start ${started.status}`);
  });
  agent.destroy();
  return { failures, viewBytes: stateBytes };
});

// ---------------------------------------------------------------- switch over HTTP keep-alive

interface HttpSwitchParams {
  httpUrl: string;
  token?: string;
  sessionIds: string[];
  ratePerSec: number;
  warmupMs: number;
  durationMs: number;
  sockets: number;
}

task('httpSwitch', async (p: HttpSwitchParams) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: p.sockets });
  const base = new URL(p.httpUrl);
  const headers = { ...authHeaders(p.token), 'content-type': 'application/json' };
  const urls = p.sessionIds.map((id) => new URL(`/v1/sessions/${id}/switch`, base));
  const histogram = newHistogram();
  const statuses: Record<string, number> = {};
  const measureFromMs = monoMs() + p.warmupMs;
  let firstMs = 0;
  let lastMs = 0;
  let completed = 0;
  /** Every answer, warm-up included (for the server's CPU per switch). */
  let total = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const pending: Promise<void>[] = [];
  const pacing = await paced(p.ratePerSec, p.warmupMs + p.durationMs, (i) => {
    const t0 = monoMs();
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const done = httpRequest(agent, urls[i % urls.length]!, 'POST', headers, '{}').then(
      (reply) => {
        const t1 = monoMs();
        inFlight--;
        total++;
        if (t0 < measureFromMs) return;
        countInto(statuses, String(reply.status));
        if (reply.status !== 200) return;
        recordMs(histogram, t1 - t0);
        completed++;
        if (firstMs === 0) firstMs = t0;
        lastMs = t1;
      },
      (err: Error) => {
        inFlight--;
        countInto(statuses, err.message);
      },
    );
    pending.push(done);
  });
  await Promise.all(pending);
  agent.destroy();
  return {
    histogram: encodeHistogram(histogram),
    lag: encodeHistogram(pacing.lag),
    statuses,
    completed,
    total,
    maxInFlight,
    achievedPerSec: completed / ((lastMs - firstMs) / 1000),
  };
});

// ---------------------------------------------------------------- switch over WebSocket

/** Sockets that send commands and match ACK/ERROR to their request ids. */
class CommandSocket {
  readonly waiting = new Map<string, { sentMs: number; done: (frame: string, atMs: number) => void }>();
  private nextId = 1;
  ws!: WebSocket;

  private constructor(private readonly onOther?: (frame: string, atMs: number) => void) {}

  /** Opens the socket with its listener in place from the start (no frame can be missed). */
  static async open(
    url: string,
    options: Omit<OpenOptions, 'onMessage'>,
    onOther?: (frame: string, atMs: number) => void,
  ): Promise<CommandSocket> {
    const socket = new CommandSocket(onOther);
    socket.ws = await openSocket(url, { ...options, onMessage: socket.handleMessage });
    return socket;
  }

  private readonly handleMessage = (data: Buffer): void => {
    const atMs = monoMs();
    const frame = data.toString('utf8');
    const type = fieldOf(frame, 'type');
    if (type === 'ACK' || type === 'ERROR') {
      const id = fieldOf(frame, 'request_id');
      const waiter = id === undefined ? undefined : this.waiting.get(id);
      if (waiter && id !== undefined) {
        this.waiting.delete(id);
        waiter.done(frame, atMs);
        return;
      }
    }
    this.onOther?.(frame, atMs);
  };

  /** Sends a command; resolves with the reply frame and the round trip in ms. */
  command(message: Record<string, unknown>): Promise<{ frame: string; sentMs: number; rttMs: number }> {
    const requestId = `r${this.nextId++}`;
    return new Promise((resolve) => {
      const sentMs = monoMs();
      this.waiting.set(requestId, {
        sentMs,
        done: (frame, atMs) => resolve({ frame, sentMs, rttMs: atMs - sentMs }),
      });
      this.ws.send(JSON.stringify({ ...message, request_id: requestId }));
    });
  }
}

function openCommandSockets(
  wsUrl: string,
  token: string | undefined,
  sessionIds: string[],
  onOther?: (frame: string, atMs: number) => void,
): Promise<CommandSocket[]> {
  return inBatches(sessionIds.length, 100, async (i) => {
    return CommandSocket.open(`${wsUrl}?session_id=${sessionIds[i]}`, { token }, onOther);
  });
}

interface WsSwitchParams {
  wsUrl: string;
  token?: string;
  sessionIds: string[];
  ratePerSec: number;
  warmupMs: number;
  durationMs: number;
}

task('wsSwitchRate', async (p: WsSwitchParams) => {
  /** STATE frames besides the ACKs: a switching client that also gets its own change as STATE pays twice. */
  let stateFrames = 0;
  const sockets = await openCommandSockets(p.wsUrl, p.token, p.sessionIds, (frame) => {
    if (frame.startsWith('{"type":"STATE"')) stateFrames++;
  });
  await sleep(300);
  const snapshots = stateFrames;
  const histogram = newHistogram();
  const replies: Record<string, number> = {};
  const measureFromMs = monoMs() + p.warmupMs;
  let completed = 0;
  let total = 0;
  let firstMs = 0;
  let lastMs = 0;
  const pending: Promise<void>[] = [];
  const pacing = await paced(p.ratePerSec, p.warmupMs + p.durationMs, (i) => {
    const socket = sockets[i % sockets.length]!;
    pending.push(
      socket.command({ type: 'SWITCH' }).then(({ frame, sentMs, rttMs }) => {
        total++;
        if (sentMs < measureFromMs) return;
        const type = fieldOf(frame, 'type') ?? '?';
        countInto(replies, type === 'ERROR' ? `ERROR ${fieldOf(frame, 'code')}` : type);
        if (type !== 'ACK') return;
        recordMs(histogram, rttMs);
        completed++;
        if (firstMs === 0) firstMs = sentMs;
        lastMs = sentMs + rttMs;
      }),
    );
  });
  await Promise.race([Promise.all(pending), sleep(10_000)]);
  for (const socket of sockets) socket.ws.terminate();
  return {
    histogram: encodeHistogram(histogram),
    lag: encodeHistogram(pacing.lag),
    replies,
    completed,
    total,
    echoedStates: stateFrames - snapshots,
    /** Sent but not answered within 10 s of the last send: not in the histogram. */
    unanswered: pacing.sent - total,
    achievedPerSec: completed / ((lastMs - firstMs) / 1000),
  };
});

/** Closed loop: each socket keeps one SWITCH outstanding; the throughput is what the server sustains. */
task('wsSwitchClosed', async (p: Omit<WsSwitchParams, 'ratePerSec'>) => {
  const sockets = await openCommandSockets(p.wsUrl, p.token, p.sessionIds);
  await sleep(300);
  const histogram = newHistogram();
  const replies: Record<string, number> = {};
  const startMs = monoMs();
  const measureFromMs = startMs + p.warmupMs;
  const endMs = measureFromMs + p.durationMs;
  let completed = 0;
  let total = 0;
  await Promise.all(
    sockets.map(async (socket) => {
      while (monoMs() < endMs) {
        const { frame, sentMs, rttMs } = await socket.command({ type: 'SWITCH' });
        total++;
        if (sentMs < measureFromMs || sentMs + rttMs > endMs) continue;
        const type = fieldOf(frame, 'type') ?? '?';
        countInto(replies, type === 'ERROR' ? `ERROR ${fieldOf(frame, 'code')}` : type);
        if (type !== 'ACK') continue;
        recordMs(histogram, rttMs);
        completed++;
      }
    }),
  );
  for (const socket of sockets) socket.ws.terminate();
  return {
    histogram: encodeHistogram(histogram),
    replies,
    completed,
    total,
    achievedPerSec: completed / (p.durationMs / 1000),
  };
});

// ---------------------------------------------------------------- delivery across instances

interface DeliveryParams {
  senderWsUrl: string;
  receiverWsUrl: string;
  token?: string;
  sessionIds: string[];
  senders: number;
  ratePerSec: number;
  warmupMs: number;
  durationMs: number;
}

/** SWITCH on instance A, STATE at a watcher on instance B; both times on this process's clock. */
task('delivery', async (p: DeliveryParams) => {
  const histogram = newHistogram();
  /** `${sessionId}:${version}` → when the switch that makes that version was sent. */
  const sentAt = new Map<string, number>();
  const nextVersion = new Map<string, number>();
  let measureFromMs = Number.POSITIVE_INFINITY;
  let matched = 0;
  let unmatched = 0;
  const onState = (frame: string, atMs: number): void => {
    if (fieldOf(frame, 'type') !== 'STATE') return;
    const sessionId = fieldOf(frame, 'session_id')!;
    const version = Number(fieldOf(frame, 'version'));
    if (!nextVersion.has(sessionId)) {
      nextVersion.set(sessionId, version + 1);
      return;
    }
    const key = `${sessionId}:${version}`;
    const sentMs = sentAt.get(key);
    if (sentMs === undefined) {
      unmatched++;
      return;
    }
    sentAt.delete(key);
    if (sentMs < measureFromMs) return;
    recordMs(histogram, atMs - sentMs);
    matched++;
  };
  const receivers = await openCommandSockets(p.receiverWsUrl, p.token, p.sessionIds, onState);
  const senders = await inBatches(p.senders, p.senders, () =>
    CommandSocket.open(p.senderWsUrl, { token: p.token }),
  );
  const deadline = monoMs() + 30_000;
  while (nextVersion.size < p.sessionIds.length && monoMs() < deadline) await sleep(20);
  if (nextVersion.size < p.sessionIds.length)
    throw new Error(`only ${nextVersion.size} of ${p.sessionIds.length} receivers got their snapshot`);
  measureFromMs = monoMs() + p.warmupMs;
  const replies: Record<string, number> = {};
  const pending: Promise<void>[] = [];
  const pacing = await paced(p.ratePerSec, p.warmupMs + p.durationMs, (i) => {
    const sessionId = p.sessionIds[i % p.sessionIds.length]!;
    const version = nextVersion.get(sessionId)!;
    nextVersion.set(sessionId, version + 1);
    sentAt.set(`${sessionId}:${version}`, monoMs());
    pending.push(
      senders[i % senders.length]!.command({ type: 'SWITCH', session_id: sessionId }).then(({ frame }) => {
        const type = fieldOf(frame, 'type') ?? '?';
        countInto(replies, type === 'ERROR' ? `ERROR ${fieldOf(frame, 'code')}` : type);
      }),
    );
  });
  await Promise.race([Promise.all(pending), sleep(10_000)]);
  await sleep(500);
  for (const socket of [...receivers, ...senders]) socket.ws.terminate();
  return {
    histogram: encodeHistogram(histogram),
    lag: encodeHistogram(pacing.lag),
    replies,
    matched,
    unmatched,
    lost: sentAt.size,
  };
});

// ---------------------------------------------------------------- fan-out to many viewers

interface ViewerGroup {
  sockets: WebSocket[];
  /** version → how many viewers got it, and the first and last arrival. */
  arrivals: Map<number, { count: number; firstMs: number; lastMs: number }>;
  closedEarly: number;
}
const viewerGroups = new Map<string, ViewerGroup>();
const controls = new Map<string, CommandSocket>();

task(
  'viewersOpen',
  async (p: {
    name: string;
    wsUrl: string;
    token?: string;
    sessionId: string;
    count: number;
    localAddresses: string[];
  }) => {
    const group: ViewerGroup = { sockets: [], arrivals: new Map(), closedEarly: 0 };
    viewerGroups.set(p.name, group);
    const onMessage = (data: Buffer): void => {
      const atMs = monoMs();
      const frame = data.toString('utf8');
      if (!frame.startsWith('{"type":"STATE"')) return;
      const version = Number(fieldOf(frame, 'version'));
      const seen = group.arrivals.get(version);
      if (seen) {
        seen.count++;
        seen.lastMs = atMs;
      } else group.arrivals.set(version, { count: 1, firstMs: atMs, lastMs: atMs });
    };
    group.sockets = await inBatches(p.count, 200, async (i) => {
      const ws = await openSocket(`${p.wsUrl}?session_id=${p.sessionId}`, {
        token: p.token,
        localAddress: p.localAddresses[i % p.localAddresses.length],
        onMessage,
      });
      ws.once('close', () => group.closedEarly++);
      return ws;
    });
    return { open: group.sockets.length };
  },
);

task('viewersWait', async (p: { name: string; version: number; boundMs: number }) => {
  const group = viewerGroups.get(p.name)!;
  const until = monoMs() + p.boundMs;
  const expected = group.sockets.length;
  while ((group.arrivals.get(p.version)?.count ?? 0) < expected && monoMs() < until) await sleep(2);
  const seen = group.arrivals.get(p.version);
  return {
    expected,
    count: seen?.count ?? 0,
    firstMs: seen?.firstMs ?? null,
    lastMs: seen?.lastMs ?? null,
    closedEarly: group.closedEarly,
  };
});

task('viewersClose', async (p: { name: string }) => {
  const group = viewerGroups.get(p.name);
  viewerGroups.delete(p.name);
  for (const ws of group?.sockets ?? []) ws.terminate();
  return {};
});

task('controlOpen', async (p: { name: string; wsUrl: string; token?: string }) => {
  controls.set(p.name, await CommandSocket.open(p.wsUrl, { token: p.token }));
  return {};
});

task('controlSwitch', async (p: { name: string; sessionId: string }) => {
  const { frame, sentMs, rttMs } = await controls
    .get(p.name)!
    .command({ type: 'SWITCH', session_id: p.sessionId });
  if (fieldOf(frame, 'type') !== 'ACK') throw new Error(`switch refused: ${frame.slice(0, 300)}`);
  return { sentMs, ackMs: rttMs, version: Number(fieldOf(frame, 'version')) };
});

/** The fan-out floor: the bare `ws` server sends one frame of `bytes` to all its other clients. */
task('controlBroadcast', async (p: { name: string; version: number; bytes: number }) => {
  const { sentMs, rttMs } = await controls
    .get(p.name)!
    .command({ type: 'BROADCAST', version: p.version, bytes: p.bytes });
  return { sentMs, ackMs: rttMs, version: p.version };
});

task('controlClose', async (p: { name: string }) => {
  controls.get(p.name)?.ws.terminate();
  controls.delete(p.name);
  return {};
});

// ---------------------------------------------------------------- expiry lateness

interface ExpiryParams {
  wsUrl: string;
  token?: string;
  sessionIds: string[];
  perSocket: number;
  boundMs: number;
  /** The STATE event timed (`expired`, or `phase_changed`), at the instant the START's ACK names. */
  event: string;
  instantField: 'deadline_at' | 'next_phase_at';
}

/** Offset of the server's clock from this process's monotonic clock, NTP-style (lowest round trip kept). */
async function syncOffset(
  socket: CommandSocket,
  samples: number,
): Promise<{ offsetMs: number; rttMs: number }> {
  let best = { offsetMs: 0, rttMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < samples; i++) {
    const t0 = monoMs();
    const frame = await new Promise<string>((resolve) => {
      const onMessage = (data: Buffer): void => {
        const text = data.toString('utf8');
        if (!text.startsWith('{"type":"PONG"')) return;
        socket.ws.off('message', onMessage);
        resolve(text);
      };
      socket.ws.on('message', onMessage);
      socket.ws.send(JSON.stringify({ type: 'PING', client_time: t0 }));
    });
    const t1 = monoMs();
    // server_time is truncated to whole ms: the server's instant lies in [server_time, +1).
    const serverMs = Number(fieldOf(frame, 'server_time')) + 0.5;
    if (t1 - t0 < best.rttMs) best = { offsetMs: serverMs - (t0 + t1) / 2, rttMs: t1 - t0 };
    await sleep(5);
  }
  return best;
}

task('expiry', async (p: ExpiryParams) => {
  const deadlines = new Map<string, number>();
  const expiredCount = new Map<string, number>();
  const observations: { sessionId: string; atMs: number; serverTime: number; version: number }[] = [];
  const startedVersion = new Map<string, number>();
  const onFrame = (frame: string, atMs: number): void => {
    if (!frame.startsWith('{"type":"STATE"')) return;
    if (fieldOf(frame, 'event') !== p.event) return;
    const sessionId = fieldOf(frame, 'session_id')!;
    expiredCount.set(sessionId, (expiredCount.get(sessionId) ?? 0) + 1);
    observations.push({
      sessionId,
      atMs,
      serverTime: Number(fieldOf(frame, 'server_time')),
      version: Number(fieldOf(frame, 'version')),
    });
  };
  const socketCount = Math.ceil(p.sessionIds.length / p.perSocket);
  const sockets = await inBatches(socketCount, 50, () =>
    CommandSocket.open(p.wsUrl, { token: p.token }, onFrame),
  );
  const subscribeFailures: Record<string, number> = {};
  await inBatches(p.sessionIds.length, 200, async (i) => {
    const { frame } = await sockets[Math.floor(i / p.perSocket)]!.command({
      type: 'SUBSCRIBE',
      session_id: p.sessionIds[i],
    });
    if (fieldOf(frame, 'type') !== 'ACK') countInto(subscribeFailures, frame.slice(0, 120));
  });
  const sync = await syncOffset(sockets[0]!, 40);
  // START each session from the socket that watches it; the ACK says its deadline.
  const startFailures: Record<string, number> = {};
  const startedAtMs = monoMs();
  await inBatches(p.sessionIds.length, 200, async (i) => {
    const sessionId = p.sessionIds[i]!;
    const { frame } = await sockets[Math.floor(i / p.perSocket)]!.command({
      type: 'START',
      session_id: sessionId,
    });
    if (fieldOf(frame, 'type') !== 'ACK') return countInto(startFailures, frame.slice(0, 160));
    deadlines.set(sessionId, Number(fieldOf(frame, p.instantField)));
    startedVersion.set(sessionId, Number(fieldOf(frame, 'version')));
  });
  const startsTookMs = monoMs() - startedAtMs;
  const until = monoMs() + p.boundMs;
  while (expiredCount.size < deadlines.size && monoMs() < until) await sleep(50);
  await sleep(1500); // a duplicate would come soon after the first
  const resync = await syncOffset(sockets[0]!, 40);
  for (const socket of sockets) socket.ws.terminate();

  // Lateness as the client sees it: receive time on the server's clock (via the PING offset) minus deadline_at.
  const received = newHistogram();
  // Lateness as the server stamps it: the STATE's server_time (when the instance built the frame) minus deadline_at.
  const stamped = newHistogram();
  let earlyReceived = 0;
  let earlyStamped = 0;
  let minReceivedMs = Number.POSITIVE_INFINITY;
  let minStampedMs = Number.POSITIVE_INFINITY;
  let wrongVersion = 0;
  const offsetMs = (sync.offsetMs + resync.offsetMs) / 2;
  for (const o of observations) {
    const deadline = deadlines.get(o.sessionId);
    if (deadline === undefined) continue;
    const receivedLateMs = o.atMs + offsetMs - deadline;
    const stampedLateMs = o.serverTime - deadline;
    minReceivedMs = Math.min(minReceivedMs, receivedLateMs);
    minStampedMs = Math.min(minStampedMs, stampedLateMs);
    // The offset is known to within half the best PING round trip plus the ±0.5 ms truncation.
    if (receivedLateMs < -(sync.rttMs / 2 + 0.5)) earlyReceived++;
    if (stampedLateMs < 0) earlyStamped++;
    recordMs(received, Math.max(0, receivedLateMs));
    recordMs(stamped, Math.max(0, stampedLateMs));
    if (o.version !== (startedVersion.get(o.sessionId) ?? -2) + 1) wrongVersion++;
  }
  let duplicates = 0;
  for (const count of expiredCount.values()) if (count > 1) duplicates += count - 1;
  return {
    received: encodeHistogram(received),
    stamped: encodeHistogram(stamped),
    started: deadlines.size,
    expired: expiredCount.size,
    missing: deadlines.size - [...deadlines.keys()].filter((id) => expiredCount.has(id)).length,
    duplicates,
    earlyReceived,
    earlyStamped,
    minReceivedMs,
    minStampedMs,
    wrongVersion,
    subscribeFailures,
    startFailures,
    startsTookMs,
    sync,
    resync,
  };
});

// ---------------------------------------------------------------- client offset error

interface OffsetParams {
  wsUrl: string;
  token?: string;
  sessionId: string;
  trials: number;
  samples: number;
  skewMs: number;
}

/**
 * The raw PING/PONG estimate (no SDK yet): the client's clock is this machine's real-time clock
 * plus `skewMs`; the server's clock is disciplined to Redis TIME, which reads the same real-time
 * clock. So the true offset is −skewMs, and the error is estimate + skewMs.
 */
task('offsetRaw', async (p: OffsetParams) => {
  const clientNowMs = (): number => performance.timeOrigin + performance.now() + p.skewMs;
  const errors = newHistogram();
  let maxAbsErrorMs = 0;
  let signedMin = Number.POSITIVE_INFINITY;
  let signedMax = Number.NEGATIVE_INFINITY;
  for (let trial = 0; trial < p.trials; trial++) {
    const socket = await CommandSocket.open(`${p.wsUrl}?session_id=${p.sessionId}`, { token: p.token });
    await sleep(20);
    let best = { offsetMs: 0, rttMs: Number.POSITIVE_INFINITY };
    for (let i = 0; i < p.samples; i++) {
      const t0 = clientNowMs();
      const frame = await new Promise<string>((resolve) => {
        const onMessage = (data: Buffer): void => {
          const text = data.toString('utf8');
          if (!text.startsWith('{"type":"PONG"')) return;
          socket.ws.off('message', onMessage);
          resolve(text);
        };
        socket.ws.on('message', onMessage);
        socket.ws.send(JSON.stringify({ type: 'PING', client_time: t0 }));
      });
      const t1 = clientNowMs();
      // server_time is truncated to whole ms: the true reading is half a ms later on average.
      const serverMs = Number(fieldOf(frame, 'server_time')) + 0.5;
      if (t1 - t0 < best.rttMs) best = { offsetMs: serverMs - (t0 + t1) / 2, rttMs: t1 - t0 };
      await sleep(10);
    }
    socket.ws.terminate();
    const errorMs = best.offsetMs + p.skewMs;
    signedMin = Math.min(signedMin, errorMs);
    signedMax = Math.max(signedMax, errorMs);
    maxAbsErrorMs = Math.max(maxAbsErrorMs, Math.abs(errorMs));
    recordMs(errors, Math.abs(errorMs));
  }
  return { errors: encodeHistogram(errors), maxAbsErrorMs, signedMin, signedMax };
});

/** The SDK's connect() with an injected clock skewed by `skewMs`; the same truth as offsetRaw. */
task('offsetSdk', async (p: OffsetParams & { httpUrl: string }) => {
  const clock = { nowMs: () => performance.timeOrigin + performance.now() + p.skewMs };
  const errors = newHistogram();
  let maxAbsErrorMs = 0;
  let maxUncertaintyMs = 0;
  let signedMin = Number.POSITIVE_INFINITY;
  let signedMax = Number.NEGATIVE_INFINITY;
  for (let trial = 0; trial < p.trials; trial++) {
    const handle = await connect({ url: p.httpUrl, sessionId: p.sessionId, token: p.token, clock });
    const errorMs = handle.offsetMs + p.skewMs;
    maxUncertaintyMs = Math.max(maxUncertaintyMs, handle.uncertaintyMs);
    await handle.close();
    signedMin = Math.min(signedMin, errorMs);
    signedMax = Math.max(signedMax, errorMs);
    maxAbsErrorMs = Math.max(maxAbsErrorMs, Math.abs(errorMs));
    recordMs(errors, Math.abs(errorMs));
  }
  return { errors: encodeHistogram(errors), maxAbsErrorMs, signedMin, signedMax, maxUncertaintyMs };
});

// ---------------------------------------------------------------- connections held open

const held = new Map<string, { sockets: WebSocket[]; pings: number; closed: number }>();

task(
  'connectionsOpen',
  async (p: {
    name: string;
    wsUrl: string;
    token?: string;
    sessionIds: string[];
    count: number;
    localAddresses: string[];
  }) => {
    const group = { sockets: [] as WebSocket[], pings: 0, closed: 0 };
    held.set(p.name, group);
    group.sockets = await inBatches(p.count, 200, async (i) => {
      const query = p.sessionIds.length > 0 ? `?session_id=${p.sessionIds[i % p.sessionIds.length]}` : '';
      const ws = await openSocket(`${p.wsUrl}${query}`, {
        token: p.token,
        localAddress: p.localAddresses[i % p.localAddresses.length],
      });
      // ws answers protocol pings with pongs by itself; counting them shows the heartbeat runs.
      ws.on('ping', () => group.pings++);
      ws.once('close', () => group.closed++);
      return ws;
    });
    return { open: group.sockets.length };
  },
);

task('connectionsStatus', async (p: { name: string }) => {
  const group = held.get(p.name)!;
  return { open: group.sockets.length - group.closed, pings: group.pings, closed: group.closed };
});

task('connectionsClose', async (p: { name: string }) => {
  const group = held.get(p.name);
  held.delete(p.name);
  for (const ws of group?.sockets ?? []) ws.terminate();
  return {};
});

// ---------------------------------------------------------------- IPC

process.on('message', (message: { id: number; task: string; params: unknown }) => {
  const run = tasks[message.task];
  if (!run) {
    process.send?.({ id: message.id, ok: false, error: `unknown task ${message.task}` });
    return;
  }
  run(message.params as never).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (err: unknown) =>
      process.send?.({
        id: message.id,
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
  );
});
// The benchmark owns this process: when it goes, so does the worker.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

export type { Histogram };
