// Inside an instance's delivery thread (deliveryThread.ts starts it): the same delivery a webhook
// worker process runs, on a database pool and Redis connections of its own, at a lower priority
// than the thread that serves commands. Attempts are reported to the instance's metrics in batches.
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { postgresClient } from '../audit/sqlClient.js';
import { createLogger } from '../monitoring/logger.js';
import type { DeliveryOutcome } from './DeliveryProcessor.js';
import type { DeliveryThreadData, ThreadReport, ToThread } from './deliveryThread.js';
import { startDelivery } from './startWebhooks.js';

/** How often attempts counted here reach the instance's metrics. */
const REPORT_INTERVAL_MS = 1_000;

async function run(port: NonNullable<typeof parentPort>, data: DeliveryThreadData): Promise<void> {
  const logger = createLogger({ logLevel: data.logLevel, nodeEnv: data.nodeEnv }).child({
    thread: 'webhook-delivery',
  });
  // On Linux a nice value is per thread: this one yields to the event loop that serves commands.
  if (data.nice !== 0 && process.platform === 'linux') {
    try {
      os.setPriority(data.nice);
    } catch (err) {
      logger.warn({ err, nice: data.nice }, 'could not lower the delivery thread priority');
    }
  }
  let markReady: (ready: boolean) => void = () => {};
  const ready = new Promise<boolean>((resolve) => (markReady = resolve));
  const sql = postgresClient(data.databaseUrl, {
    onError: (err) => logger.warn({ err: err.message }, 'audit database connection error'),
  });
  let attempts: Array<[DeliveryOutcome, number | null]> = [];
  const flush = (): void => {
    if (attempts.length === 0) return;
    port.postMessage({ type: 'attempts', attempts } satisfies ThreadReport);
    attempts = [];
  };
  const reporter = setInterval(flush, REPORT_INTERVAL_MS);
  const { queue } = await startDelivery({
    sql,
    ready,
    queue: { kind: 'distributed', redis: data.redis, bullPrefix: data.bullPrefix },
    retryScheduleMs: data.retryScheduleMs,
    allowPrivate: data.allowPrivate,
    logger,
    observer: {
      onAttempt: (outcome, durationMs) => attempts.push([outcome, durationMs]),
    },
    ...(data.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: data.attemptTimeoutMs }),
  });
  port.on('message', (message: ToThread) => {
    if (message.type === 'ready') markReady(message.ready);
    else if (message.type === 'close') {
      markReady(false);
      void (async () => {
        // What is in flight finishes (BullMQ's close waits for it); what is queued stays queued.
        await queue.close();
        await sql.close();
        clearInterval(reporter);
        flush();
        port.postMessage({ type: 'closed' } satisfies ThreadReport);
        port.close();
      })();
    }
  });
  port.postMessage({ type: 'started' } satisfies ThreadReport);
}

if (parentPort !== null) void run(parentPort, (workerData as { data: DeliveryThreadData }).data);
