// Distributed mode's delivery queue on BullMQ, under the cluster-safe prefix the audit queue uses.
// New messages go in batch jobs (the messages of one feed, up to MESSAGES_PER_BATCH_JOB): a job
// costs more Redis work than the delivery it carries, and a feed's messages are due together.
// A message that must wait (a retry, or held back behind an earlier one) gets a job of its own,
// its job id the webhook-id, so that it is one job however often it is queued; a retry moves that
// job back to delayed. BullMQ's own attempts are only for unexpected errors. A batch job run twice
// (its worker died) hands each of its messages to a job of its own, so that no message is
// attempted by two jobs at once.
import { createHash } from 'node:crypto';
import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import pLimit from 'p-limit';
import type { WebhookMessage } from './messages.js';
import { PROCESS_ERROR_RETRY_MS, type DeliveryQueue, type ProcessMessage } from './DeliveryQueue.js';

export const WEBHOOK_QUEUE_NAME = 'synckairos-webhooks';
/** As the audit worker: a killed worker's jobs are back with another within about 10 s. */
const LOCK_DURATION_MS = 5_000;
const STALLED_INTERVAL_MS = 5_000;
const MESSAGES_PER_BATCH_JOB = 100;
/** Attempts of batch jobs' messages in flight at once on this instance. */
const BATCH_ATTEMPTS_IN_FLIGHT = 64;
const BATCH_JOB = 'batch';
const MESSAGE_JOB = 'webhook';

/**
 * A batch job's data: each distinct body once (the messages of one change to ten endpoints share
 * one), the messages pointing at theirs by index. Batches queued before bodies were shared carry
 * them in each message (`bodies` absent) and are read as they are.
 */
interface Batch {
  bodies?: string[];
  messages: Array<Omit<WebhookMessage, 'body'> & { body: number | string }>;
}

type JobData = WebhookMessage | Batch;

function packBatch(messages: readonly WebhookMessage[]): Batch {
  const bodies: string[] = [];
  const indexOf = new Map<string, number>();
  return {
    bodies,
    messages: messages.map((message) => {
      let index = indexOf.get(message.body);
      if (index === undefined) {
        index = bodies.push(message.body) - 1;
        indexOf.set(message.body, index);
      }
      return { ...message, body: index };
    }),
  };
}

function unpackBatch({ bodies, messages }: Batch): WebhookMessage[] {
  return messages.map((message) => ({
    ...message,
    body: typeof message.body === 'number' ? bodies![message.body]! : message.body,
  }));
}

/** The same messages make the same batch job: queued twice (a relay retry), they are one job. */
function batchJobId(messages: readonly WebhookMessage[]): string {
  const hash = createHash('sha256');
  for (const message of messages) hash.update(message.id).update('\n');
  return `batch_${hash.digest('base64url')}`;
}

/** A message's own job: its id the webhook-id, so the message is one job however often it is queued. */
function messageJob(message: WebhookMessage) {
  return { name: MESSAGE_JOB, data: message, opts: { jobId: message.id } };
}

export interface BullDeliveryQueueOptions {
  producer: ConnectionOptions;
  /** Null: this process only queues; workers elsewhere deliver (WEBHOOK_DELIVERY=off). */
  consumer: ConnectionOptions | null;
  prefix: string;
  process: ProcessMessage;
  /** Jobs in flight at once on this instance (default 16). */
  concurrency?: number;
  onError?: (err: unknown, message: WebhookMessage) => void;
}

export class BullDeliveryQueue implements DeliveryQueue {
  private readonly queue: Queue<JobData>;
  private readonly worker: Worker<JobData> | null;
  private readonly batchAttempts = pLimit(BATCH_ATTEMPTS_IN_FLIGHT);

  constructor(private readonly options: BullDeliveryQueueOptions) {
    this.queue = new Queue<JobData>(WEBHOOK_QUEUE_NAME, {
      connection: options.producer,
      prefix: options.prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: { count: 1000 } },
    });
    this.worker =
      options.consumer === null
        ? null
        : new Worker<JobData>(WEBHOOK_QUEUE_NAME, (job, token) => this.run(job, token), {
            connection: options.consumer,
            prefix: options.prefix,
            concurrency: options.concurrency ?? 16,
            lockDuration: LOCK_DURATION_MS,
            stalledInterval: STALLED_INTERVAL_MS,
          });
    // A worker without an error listener would throw into the event loop on a Redis blip.
    this.worker?.on('error', () => {});
  }

  /** Null: finished. Otherwise the ms until it is looked at again (a processing error is one too). */
  private async processSafely(message: WebhookMessage): Promise<number | null> {
    try {
      return (await this.options.process(message))?.retryInMs ?? null;
    } catch (err) {
      this.options.onError?.(err, message);
      return PROCESS_ERROR_RETRY_MS;
    }
  }

  private async run(job: Job<JobData>, token: string | undefined): Promise<void> {
    let retryInMs: number | null;
    if (job.name === BATCH_JOB) {
      const messages = unpackBatch(job.data as Batch);
      try {
        // Run again (its worker died, or it could not queue a message that must wait): some of
        // its messages may have jobs of their own by now, one may be in an attempt. So each
        // gets its own job instead, which a message that has one already does not get twice.
        if (job.attemptsStarted > 1) await this.queue.addBulk(messages.map(messageJob));
        else await this.runBatch(messages);
        return;
      } catch {
        retryInMs = PROCESS_ERROR_RETRY_MS;
      }
    } else {
      retryInMs = await this.processSafely(job.data as WebhookMessage);
      if (retryInMs === null) return;
    }
    await job.moveToDelayed(Date.now() + retryInMs, token);
    throw new DelayedError();
  }

  /**
   * Each message's first look; one that must wait gets a job of its own at once. Rejects once
   * every look has ended if any such job could not be queued (the batch then runs again).
   */
  private async runBatch(messages: readonly WebhookMessage[]): Promise<void> {
    const looks = await Promise.allSettled(
      messages.map((message) =>
        this.batchAttempts(async () => {
          const retryInMs = await this.processSafely(message);
          if (retryInMs === null) return;
          await this.queue.add(MESSAGE_JOB, message, { jobId: message.id, delay: retryInMs });
        }),
      ),
    );
    const failed = looks.find((look) => look.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  async add(messages: readonly WebhookMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const jobs = [];
    for (let i = 0; i < messages.length; i += MESSAGES_PER_BATCH_JOB) {
      const chunk = messages.slice(i, i + MESSAGES_PER_BATCH_JOB);
      const [only] = chunk;
      jobs.push(
        chunk.length === 1 && only !== undefined
          ? messageJob(only)
          : { name: BATCH_JOB, data: packBatch(chunk), opts: { jobId: batchJobId(chunk) } },
      );
    }
    await this.queue.addBulk(jobs);
  }

  async wake(messageId: string): Promise<void> {
    const job = await this.queue.getJob(messageId);
    // Refused unless the job is delayed (waiting, or taken meanwhile): then there is nothing to wake.
    await job?.promote().catch(() => {});
  }

  /** Jobs waiting, held back, or being run (a batch job counts once). */
  async backlog(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(counts).reduce((sum, count) => sum + count, 0);
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
