// This instance's side of the disconnect policy: counts its connections per (session,
// participant) for sessions with on_disconnect, renews a lease of each while the count is above
// zero and releases it at zero. An instance that dies stops renewing: its leases run out, and the
// participant's disconnect entry, pushed to the lease's end plus the grace, falls due.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../types/clock.js';
import type { PresenceStore } from '../types/presence.js';

export interface PresenceTrackerLogger {
  warn(obj: object, msg: string): void;
}

export interface PresenceTrackerDeps {
  store: PresenceStore;
  clock: Clock;
  /** This instance in the leases (default: random, new at every start). */
  instanceId?: string;
  /** How often leases are renewed (default 1 s). */
  renewIntervalMs?: number;
  /** How long a lease lasts from its renewal (default 3 s): a few renewals may fail before it runs out. */
  leaseMs?: number;
  logger?: PresenceTrackerLogger;
}

/** What a connection tells the tracker; ClientConnection holds nothing more of it. */
export interface Presence {
  connected(sessionId: string, participantId: string, graceMs: number): void;
  disconnected(sessionId: string, participantId: string): void;
}

interface Held {
  sessionId: string;
  participantId: string;
  graceMs: number;
  connections: number;
}

const DEFAULT_RENEW_INTERVAL_MS = 1000;
const DEFAULT_LEASE_MS = 3000;

export class PresenceTracker implements Presence {
  readonly instanceId: string;
  private readonly store: PresenceStore;
  private readonly clock: Clock;
  private readonly renewIntervalMs: number;
  private readonly leaseMs: number;
  private readonly logger: PresenceTrackerLogger | undefined;
  /** `<sessionId>|<participantId>` → what this instance holds of it. */
  private readonly held = new Map<string, Held>();
  /** The store calls of each key, one after the other: a release never lands before its renewal. */
  private readonly queues = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Store failures since it last answered; only the first of a streak is logged. */
  private failures = 0;

  constructor(deps: PresenceTrackerDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.instanceId = deps.instanceId ?? randomUUID();
    this.renewIntervalMs = deps.renewIntervalMs ?? DEFAULT_RENEW_INTERVAL_MS;
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
    this.logger = deps.logger;
  }

  /** How many (session, participant) pairs this instance holds leases of. */
  get heldCount(): number {
    return this.held.size;
  }

  start(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setInterval(this.renewAll, this.renewIntervalMs);
    this.timer.unref();
  }

  connected(sessionId: string, participantId: string, graceMs: number): void {
    if (this.closed) return;
    const key = `${sessionId}|${participantId}`;
    const held = this.held.get(key);
    if (held !== undefined) {
      held.connections += 1;
      return;
    }
    const first: Held = { sessionId, participantId, graceMs, connections: 1 };
    this.held.set(key, first);
    this.renew(key, first);
  }

  disconnected(sessionId: string, participantId: string): void {
    const key = `${sessionId}|${participantId}`;
    const held = this.held.get(key);
    if (held === undefined) return;
    held.connections -= 1;
    if (held.connections > 0) return;
    this.held.delete(key);
    this.enqueue(key, () =>
      this.store.release(sessionId, participantId, this.instanceId, this.clock.nowMs(), held.graceMs),
    );
  }

  /** Stops renewing and waits for the store calls under way (releases included); safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.queues.values());
  }

  private readonly renewAll = (): void => {
    for (const [key, held] of this.held) this.renew(key, held);
  };

  private renew(key: string, held: Held): void {
    const { sessionId, participantId, graceMs } = held;
    this.enqueue(key, () =>
      this.store.renew(sessionId, participantId, this.instanceId, this.clock.nowMs() + this.leaseMs, graceMs),
    );
  }

  private enqueue(key: string, call: () => Promise<void>): void {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(call).then(
      () => this.answered(),
      (err: unknown) => this.failed(err),
    );
    this.queues.set(key, next);
    void next.then(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  private failed(err: unknown): void {
    this.failures += 1;
    // A store outage fails every renewal; one line says so (the leases run out meanwhile).
    if (this.failures === 1) this.logger?.warn({ err }, 'Presence: renewing or releasing a lease failed');
  }

  private answered(): void {
    if (this.failures === 0) return;
    this.logger?.warn({ failures: this.failures }, 'Presence: the store answers again');
    this.failures = 0;
  }
}
