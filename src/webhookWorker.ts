// A delivery-only process (`npm run webhook-worker`): it takes webhook messages from the BullMQ
// queue the instances fill and delivers them, so instances started with WEBHOOK_DELIVERY=off keep
// their CPU for commands. Run one or more beside the instances, on the same Redis and PostgreSQL;
// BullMQ hands each message to one of them, and a killed one's messages go to another. Each
// serves `/health` and `/metrics` on WEBHOOK_WORKER_PORT: its deliveries are counted there.
import os from 'node:os';
import { openAuditStore } from './audit/AuditStore.js';
import type { Config } from './config/config.js';
import { isEntryPoint, redisTarget, runUntilSignalled, StartupError } from './index.js';
import type { Logger } from './monitoring/logger.js';
import { createMetrics } from './monitoring/metrics.js';
import { startOpsListener } from './monitoring/opsListener.js';
import { stateKeys } from './state/keys.js';
import { metricsObserver, startDelivery } from './webhooks/startWebhooks.js';

/**
 * A delivery is never as urgent as a command: at a higher nice value this process gets the CPU
 * that instances on the same cores leave idle (measured: BENCHMARKS.md, the webhook rows). On
 * Linux this sets the calling thread's, which is where all of the delivery's JavaScript runs.
 */
function lowerPriority(nice: number, logger: Logger): void {
  if (nice === 0) return;
  try {
    os.setPriority(nice);
  } catch (err) {
    logger.warn({ err, nice }, "could not lower the webhook worker's priority; delivering at the usual one");
  }
}

export async function startWebhookWorker(
  config: Config,
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  const target = redisTarget(config);
  if (target === null || config.databaseUrl === null) {
    throw new StartupError(
      'The webhook worker needs REDIS_URL (or REDIS_CLUSTER_NODES) and DATABASE_URL: it delivers what distributed instances queue',
    );
  }
  const metrics = createMetrics();
  const ops = await startOpsListener({ host: config.host, port: config.webhooks.workerPort, metrics }).catch(
    (err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      throw new StartupError(`WEBHOOK_WORKER_PORT ${config.webhooks.workerPort}: ${reason}`, { cause: err });
    },
  );
  const store = await openAuditStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    onConnectionError: (err) => logger.warn({ err }, 'audit database connection error'),
  });
  const { queue } = await startDelivery({
    sql: store.sql,
    ready: Promise.resolve(true),
    queue: { kind: 'distributed', redis: target, bullPrefix: stateKeys().bullPrefix },
    retryScheduleMs: config.webhooks.retryScheduleMs,
    allowPrivate: config.webhooks.allowPrivate,
    logger,
    observer: metricsObserver(metrics),
  });
  metrics.gauges.webhookBacklog = () => queue.backlog();
  lowerPriority(config.webhooks.workerNice, logger);
  logger.info(
    { allowPrivate: config.webhooks.allowPrivate, nice: config.webhooks.workerNice, metricsPort: ops.port },
    'webhook worker: delivering',
  );
  return {
    async close() {
      // What is in flight finishes (BullMQ's close waits for it); what is queued stays queued.
      await queue.close();
      await store.close();
      await ops.close();
      logger.info('closed');
    },
  };
}

if (isEntryPoint(import.meta.url)) void runUntilSignalled(startWebhookWorker);
