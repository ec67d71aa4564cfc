// Prometheus metrics on an own registry, so several apps (tests) never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Fine at the low end: the switch target is p50 ≤ 1 ms, p99 ≤ 5 ms (BENCHMARKS.md). */
export const COMMAND_DURATION_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1,
];

export interface Metrics {
  readonly registry: Registry;
  /** Time SyncEngine takes for one command (create, get, start, switch, …), success or failure. */
  readonly commandDuration: Histogram<'command'>;
  /** Error responses by error code. */
  readonly httpErrors: Counter<'code'>;
  /** Changes by time alone this instance applied, by event (expired, participant_expired, cycle_advanced, phase_changed, overtime). */
  readonly expiries: Counter<'event'>;
  /** Redis connection errors (every failed connect or reconnect attempt), by connection. */
  readonly redisErrors: Counter<'connection'>;
  /** From a command's server time to its STATE frame handed to every watcher's socket on this instance. */
  readonly deliveryLag: Histogram;
  /** Audit records that failed for good (all attempts spent), kept for a person to look at. */
  readonly auditFailures: Counter;
  /** Webhook attempts by outcome: delivered, retry, failed (for good), disabled (the endpoint). */
  readonly webhookDeliveries: Counter<'outcome'>;
  /** How long one webhook attempt took, answer or not. */
  readonly webhookAttemptDuration: Histogram;
  /** Read at each scrape: set by whoever owns the numbers once it exists. */
  readonly gauges: {
    webhookBacklog: () => Promise<number>;
    websocketConnections: () => number;
    watchedSessions: () => number;
    auditStatus: () => Promise<{ backlog: number; failed: number }>;
    schedulerDeadlines: () => { armed: number; noted: number };
  };
}

/**
 * prom-client's gauges named like counters, which promtool refuses; each is the sum of a gauge
 * kept beside it by type (`nodejs_active_handles{type}` and so on).
 */
const DEFAULT_GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    for (const name of DEFAULT_GAUGES_NAMED_TOTAL) registry.removeSingleMetric(name);
  }
  const commandDuration = new Histogram({
    name: 'synckairos_command_duration_seconds',
    help: 'Time to execute one session command, by command',
    labelNames: ['command'],
    buckets: COMMAND_DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });
  const httpErrors = new Counter({
    name: 'synckairos_http_errors_total',
    help: 'HTTP error responses, by error code',
    labelNames: ['code'],
    registers: [registry],
  });
  const expiries = new Counter({
    name: 'synckairos_expiries_total',
    help: 'Expiries applied by this instance, by event',
    labelNames: ['event'],
    registers: [registry],
  });
  const redisErrors = new Counter({
    name: 'synckairos_redis_errors_total',
    help: 'Redis connection errors (each failed connect or reconnect attempt), by connection',
    labelNames: ['connection'],
    registers: [registry],
  });
  const deliveryLag = new Histogram({
    name: 'synckairos_delivery_lag_seconds',
    help: "Time from a command's server time to its STATE frame being handed to every watcher on this instance (commands only, not expiries or resyncs)",
    buckets: COMMAND_DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });
  const auditFailures = new Counter({
    name: 'synckairos_audit_failures_total',
    help: 'Audit records that failed for good on this instance (kept as failed jobs / records)',
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: 'synckairos_webhook_deliveries_total',
    help: 'Webhook attempts by outcome (delivered, retry, failed for good, disabled endpoint)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const webhookAttemptDuration = new Histogram({
    name: 'synckairos_webhook_attempt_duration_seconds',
    help: 'Time one webhook attempt took, from request to answer (or failure)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const gauges: Metrics['gauges'] = {
    webhookBacklog: async () => 0,
    websocketConnections: () => 0,
    watchedSessions: () => 0,
    auditStatus: async () => ({ backlog: 0, failed: 0 }),
    schedulerDeadlines: () => ({ armed: 0, noted: 0 }),
  };
  new Gauge({
    name: 'synckairos_audit_queue_depth',
    help: 'Audit records waiting to be written to the audit store',
    registers: [registry],
    async collect() {
      this.set((await gauges.auditStatus().catch(() => ({ backlog: Number.NaN }))).backlog);
    },
  });
  new Gauge({
    name: 'synckairos_audit_failed_records',
    help: 'Audit records kept as failed (all attempts spent); they need a person',
    registers: [registry],
    async collect() {
      this.set((await gauges.auditStatus().catch(() => ({ failed: Number.NaN }))).failed);
    },
  });
  new Gauge({
    name: 'synckairos_webhook_backlog',
    help: 'Webhook messages waiting for their first attempt or a retry',
    registers: [registry],
    async collect() {
      this.set(await gauges.webhookBacklog().catch(() => Number.NaN));
    },
  });
  new Gauge({
    name: 'synckairos_websocket_connections',
    help: 'Open WebSocket connections on this instance',
    registers: [registry],
    collect() {
      this.set(gauges.websocketConnections());
    },
  });
  new Gauge({
    name: 'synckairos_watched_sessions',
    help: 'Sessions with at least one WebSocket watcher on this instance',
    registers: [registry],
    collect() {
      this.set(gauges.watchedSessions());
    },
  });
  new Gauge({
    name: 'synckairos_scheduler_deadlines',
    help: "Deadlines this instance's scheduler holds: armed (a timer set) or noted (beyond the lookahead)",
    labelNames: ['held'],
    registers: [registry],
    collect() {
      const { armed, noted } = gauges.schedulerDeadlines();
      this.set({ held: 'armed' }, armed);
      this.set({ held: 'noted' }, noted);
    },
  });
  return {
    registry,
    commandDuration,
    httpErrors,
    expiries,
    redisErrors,
    deliveryLag,
    auditFailures,
    webhookDeliveries,
    webhookAttemptDuration,
    gauges,
  };
}
