// Wires webhooks and push for a running service: the store on the audit database, the delivery
// processor, the mode's queue (BullMQ on the service's Redis, or LMDB in DATA_DIR), FCM if
// configured. The returned service's `feed` is the audit pipeline's OnRecorded.
import { bullConnection } from '../audit/AuditService.js';
import type { SqlClient } from '../audit/sqlClient.js';
import type { Logger } from '../monitoring/logger.js';
import type { Metrics } from '../monitoring/metrics.js';
import type { RedisTarget } from '../state/redisConnection.js';
import { guardedAgent } from './addressGuard.js';
import { BullDeliveryQueue } from './BullDeliveryQueue.js';
import { DeliveryProcessor, type DeliveryObserver } from './DeliveryProcessor.js';
import { startDeliveryThread, type DeliveryThreadData } from './deliveryThread.js';
import { PROCESS_ERROR_RETRY_MS, type DeliveryQueue, type ProcessMessage } from './DeliveryQueue.js';
import { LmdbDeliveryQueue } from './LmdbDeliveryQueue.js';
import type { WebhookMessage } from './messages.js';
import { fcmMessaging, PushNotifier, type PushMessaging } from './PushNotifier.js';
import { WebhookService } from './WebhookService.js';
import { WebhookStore } from './WebhookStore.js';

export type WebhookQueueTarget =
  { kind: 'embedded'; dataDir: string } | { kind: 'distributed'; redis: RedisTarget; bullPrefix: string };

/** What delivering needs: the database, the queue, the retry rules. */
export interface DeliveryOptions {
  /** The audit database's connection (AuditStore.sql). */
  sql: SqlClient;
  /** The audit store's migrations (AuditService.ready): nothing touches the tables before. */
  ready: Promise<boolean>;
  queue: WebhookQueueTarget;
  retryScheduleMs: readonly number[];
  allowPrivate: boolean;
  /** False: messages are queued here and delivered by other processes (distributed mode only). */
  deliver?: boolean;
  logger: Logger;
  /** Told of every attempt (metricsObserver: the webhook metrics). */
  observer?: DeliveryObserver;
  /** Per-attempt timeout (default 10 s). */
  attemptTimeoutMs?: number;
}

/** The attempts as the webhook metrics count them. */
export function metricsObserver(metrics: Metrics): DeliveryObserver {
  return {
    onAttempt: (outcome, durationMs) => {
      metrics.webhookDeliveries.inc({ outcome });
      if (durationMs !== null) metrics.webhookAttemptDuration.observe(durationMs / 1000);
    },
  };
}

export interface StartWebhooksOptions extends DeliveryOptions {
  metrics?: Metrics;
  /**
   * Distributed mode, delivering: deliver in a thread of this process (deliveryThread.ts) rather
   * than on its event loop. What the thread needs beyond the options here.
   */
  deliveryThread?: Pick<DeliveryThreadData, 'databaseUrl' | 'nice' | 'logLevel' | 'nodeEnv'>;
  /** FCM_SERVICE_ACCOUNT; null: push is off. */
  fcmServiceAccount: string | null;
  /** Instead of firebase-admin's (tests: FCM cannot be reached from here). */
  messaging?: PushMessaging;
  sessionExists: (sessionId: string) => Promise<boolean>;
  maxEndpoints?: number;
}

async function openQueue(
  target: WebhookQueueTarget,
  process: ProcessMessage,
  onError: (err: unknown, message: WebhookMessage) => void,
  deliver: boolean,
): Promise<DeliveryQueue> {
  if (target.kind === 'embedded') return LmdbDeliveryQueue.open(target.dataDir, { process, onError });
  return new BullDeliveryQueue({
    producer: bullConnection(target.redis, 'synckairos-webhook-queue'),
    consumer: deliver ? bullConnection(target.redis, 'synckairos-webhook-worker') : null,
    prefix: target.bullPrefix,
    process,
    onError,
  });
}

async function openPush(options: StartWebhooksOptions, store: WebhookStore): Promise<PushNotifier | null> {
  const { logger } = options;
  if (options.messaging !== undefined) return new PushNotifier(store, options.messaging, logger);
  if (options.fcmServiceAccount === null) {
    logger.info('push notifications: off (FCM_SERVICE_ACCOUNT is not set)');
    return null;
  }
  const messaging = await fcmMessaging(options.fcmServiceAccount);
  logger.info('push notifications: on (FCM)');
  return new PushNotifier(store, messaging, logger);
}

/**
 * The delivering half: the store and the queue with a processor that attempts each message
 * (unless `deliver` is false). A delivery-only process (webhookWorker.ts) runs just this.
 */
export async function startDelivery(
  options: DeliveryOptions,
): Promise<{ store: WebhookStore; queue: DeliveryQueue }> {
  const { logger } = options;
  const store = new WebhookStore(options.sql);
  // The processor wakes messages in the queue it feeds: the queue is opened just below.
  let queue: DeliveryQueue | null = null;
  const processor = new DeliveryProcessor({
    wake: async (messageId) => queue?.wake(messageId),
    store,
    retryScheduleMs: options.retryScheduleMs,
    allowPrivate: options.allowPrivate,
    ...(options.allowPrivate ? {} : { dispatcher: await guardedAgent() }),
    ...(options.attemptTimeoutMs === undefined ? {} : { timeoutMs: options.attemptTimeoutMs }),
    logger,
    ...(options.observer === undefined ? {} : { observer: options.observer }),
  });
  const process: ProcessMessage = async (message) => {
    // Not migrated yet (or closed before): try again later, the message keeps its place.
    if (!(await options.ready)) return { retryInMs: PROCESS_ERROR_RETRY_MS };
    return processor.process(message);
  };
  queue = await openQueue(
    options.queue,
    process,
    (err, message) =>
      logger.warn({ err, message: message.id }, 'webhook message could not be processed; trying again'),
    options.deliver ?? true,
  );
  return { store, queue };
}

export async function startWebhooks(options: StartWebhooksOptions): Promise<WebhookService> {
  const { logger, metrics } = options;
  const observer = metrics === undefined ? undefined : metricsObserver(metrics);
  const deliver = options.deliver ?? true;
  const threadTarget = options.queue.kind === 'distributed' && deliver ? options.deliveryThread : undefined;
  const { store, queue } = await startDelivery({
    ...options,
    deliver: deliver && threadTarget === undefined,
    ...(observer === undefined ? {} : { observer }),
  });
  let serviceQueue: DeliveryQueue = queue;
  if (threadTarget !== undefined && options.queue.kind === 'distributed') {
    const thread = await startDeliveryThread({
      data: {
        ...threadTarget,
        redis: options.queue.redis,
        bullPrefix: options.queue.bullPrefix,
        retryScheduleMs: options.retryScheduleMs,
        allowPrivate: options.allowPrivate,
        ...(options.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: options.attemptTimeoutMs }),
      },
      ready: options.ready,
      observer: observer ?? {},
      logger,
    }).catch(async (err: unknown) => {
      await queue.close();
      throw err;
    });
    serviceQueue = {
      add: (messages) => queue.add(messages),
      wake: (messageId) => queue.wake(messageId),
      backlog: () => queue.backlog(),
      async close() {
        await thread.close();
        await queue.close();
      },
    };
  }
  const push = await openPush(options, store);
  const service = new WebhookService({
    store,
    queue: serviceQueue,
    sessionExists: options.sessionExists,
    allowPrivate: options.allowPrivate,
    ready: options.ready,
    push,
    logger,
    ...(options.maxEndpoints === undefined ? {} : { maxEndpoints: options.maxEndpoints }),
  });
  if (metrics !== undefined) metrics.gauges.webhookBacklog = () => service.backlog();
  logger.info(
    {
      queue: options.queue.kind === 'embedded' ? 'lmdb' : 'bullmq',
      allowPrivate: options.allowPrivate,
      delivering: deliver ? (threadTarget === undefined ? 'event loop' : 'thread') : false,
    },
    deliver ? 'webhooks: on' : 'webhooks: on, delivered by webhook workers (WEBHOOK_DELIVERY=off)',
  );
  return service;
}
