// Distributed mode's delivery queue: one BullMQ job per message, its job id the webhook-id (so a
// message queued twice is one job), under the cluster-safe prefix the audit queue uses. A retry
// moves the job back to delayed; BullMQ's own attempts are only for unexpected errors.
import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { WebhookMessage } from './messages.js';
import { PROCESS_ERROR_RETRY_MS, type DeliveryQueue, type ProcessMessage } from './DeliveryQueue.js';

export const WEBHOOK_QUEUE_NAME = 'synckairos-webhooks';
/** As the audit worker: a killed worker's jobs are back with another within about 10 s. */
const LOCK_DURATION_MS = 5_000;
const STALLED_INTERVAL_MS = 5_000;

export interface BullDeliveryQueueOptions {
  producer: ConnectionOptions;
  /** Null: this process only queues; workers elsewhere deliver (WEBHOOK_DELIVERY=off). */
  consumer: ConnectionOptions | null;
  prefix: string;
  process: ProcessMessage;
  /** Attempts in flight at once on this instance (default 16). */
  concurrency?: number;
  onError?: (err: unknown, message: WebhookMessage) => void;
}

export class BullDeliveryQueue implements DeliveryQueue {
  private readonly queue: Queue<WebhookMessage>;
  private readonly worker: Worker<WebhookMessage> | null;

  constructor(private readonly options: BullDeliveryQueueOptions) {
    this.queue = new Queue<WebhookMessage>(WEBHOOK_QUEUE_NAME, {
      connection: options.producer,
      prefix: options.prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: { count: 1000 } },
    });
    this.worker =
      options.consumer === null
        ? null
        : new Worker<WebhookMessage>(WEBHOOK_QUEUE_NAME, (job, token) => this.run(job, token), {
            connection: options.consumer,
            prefix: options.prefix,
            concurrency: options.concurrency ?? 16,
            lockDuration: LOCK_DURATION_MS,
            stalledInterval: STALLED_INTERVAL_MS,
          });
    // A worker without an error listener would throw into the event loop on a Redis blip.
    this.worker?.on('error', () => {});
  }

  private async run(job: Job<WebhookMessage>, token: string | undefined): Promise<void> {
    let retryInMs: number;
    try {
      const result = await this.options.process(job.data);
      if (result === null) return;
      retryInMs = result.retryInMs;
    } catch (err) {
      this.options.onError?.(err, job.data);
      retryInMs = PROCESS_ERROR_RETRY_MS;
    }
    await job.moveToDelayed(Date.now() + retryInMs, token);
    throw new DelayedError();
  }

  async add(messages: readonly WebhookMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.queue.addBulk(
      messages.map((message) => ({ name: 'webhook', data: message, opts: { jobId: message.id } })),
    );
  }

  async wake(messageId: string): Promise<void> {
    const job = await this.queue.getJob(messageId);
    // Refused unless the job is delayed (waiting, or taken meanwhile): then there is nothing to wake.
    await job?.promote().catch(() => {});
  }

  async backlog(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
