// Both delivery queues (BullMQ on a private Redis, LMDB in a data folder) keep the same promises:
// a message answered "again later" waits, and one woken (its predecessor is finished) is due at once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bullConnection } from '../../src/audit/AuditService.js';
import { Queue } from 'bullmq';
import { BullDeliveryQueue, WEBHOOK_QUEUE_NAME } from '../../src/webhooks/BullDeliveryQueue.js';
import type { DeliveryQueue, ProcessMessage } from '../../src/webhooks/DeliveryQueue.js';
import { LmdbDeliveryQueue } from '../../src/webhooks/LmdbDeliveryQueue.js';
import type { WebhookMessage } from '../../src/webhooks/messages.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redisServer.js';
import { testDataDir } from '../helpers/testDataDir.js';
import { waitUntil } from '../helpers/webhookReceiver.js';

/** Far longer than any wait below: a message that comes back sooner was woken. */
const HELD_MS = 600_000;

function message(): WebhookMessage {
  return {
    id: `msg_${randomUUID()}`,
    endpointId: 'ep_1',
    sessionId: 's',
    version: 2,
    type: 'session.switched',
    body: '{}',
  };
}

type OpenQueue = (process: ProcessMessage) => Promise<DeliveryQueue>;

function queueSuite(name: string, open: () => OpenQueue): void {
  describe(`${name} delivery queue`, () => {
    it('a message held back comes again at once when woken, not after its wait', async () => {
      const seen: string[] = [];
      const queue = await open()(async (m) => {
        seen.push(m.id);
        return seen.length === 1 ? { retryInMs: HELD_MS } : null;
      });
      try {
        const held = message();
        await queue.add([held]);
        await waitUntil('the first look', () => seen.length === 1);
        // Its answer is stored a moment after the call: wake until it is taken again.
        await waitUntil('the woken look', async () => {
          await queue.wake(held.id);
          return seen.length === 2;
        });
        expect(seen).toEqual([held.id, held.id]);
        await waitUntil('an empty backlog', async () => (await queue.backlog()) === 0);
      } finally {
        await queue.close();
      }
    });

    it('messages queued together are each looked at once; one that must wait comes back by itself', async () => {
      const seen: string[] = [];
      const [first, waits, last] = [message(), message(), message()];
      const queue = await open()(async (m) => {
        seen.push(m.id);
        return m.id === waits.id && seen.filter((id) => id === waits.id).length === 1
          ? { retryInMs: 50 }
          : null;
      });
      try {
        await queue.add([first, waits, last]);
        await waitUntil('four looks', () => seen.length === 4);
        expect([...seen].sort()).toEqual([first.id, waits.id, waits.id, last.id].sort());
        expect(seen[3]).toBe(waits.id);
        await waitUntil('an empty backlog', async () => (await queue.backlog()) === 0);
        expect(seen).toHaveLength(4);
      } finally {
        await queue.close();
      }
    });

    it('waking a message it does not hold changes nothing', async () => {
      const queue = await open()(async () => null);
      try {
        await queue.wake(`msg_${randomUUID()}`);
        expect(await queue.backlog()).toBe(0);
      } finally {
        await queue.close();
      }
    });
  });
}

let redis: RedisServerHandle | undefined;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.close();
});

queueSuite('BullMQ', () => async (process) => {
  const target = { url: redis!.url };
  return new BullDeliveryQueue({
    producer: bullConnection(target, 'test-webhook-queue'),
    consumer: bullConnection(target, 'test-webhook-worker'),
    prefix: `{test-${randomUUID().slice(0, 8)}}`,
    process,
  });
});

/**
 * A BullMQ delivery queue with no worker (jobs wait), the raw BullMQ queue under it, and a
 * consumer started on demand: for looking at and arranging jobs before anything runs them.
 */
function queueWithoutWorker(): {
  prefix: string;
  producer: BullDeliveryQueue;
  raw: Queue;
  startConsumer(process: ProcessMessage): BullDeliveryQueue;
  close(): Promise<void>;
} {
  const target = { url: redis!.url };
  const prefix = `{test-${randomUUID().slice(0, 8)}}`;
  const producer = new BullDeliveryQueue({
    producer: bullConnection(target, 'test-webhook-queue'),
    consumer: null,
    prefix,
    process: async () => null,
  });
  const raw = new Queue(WEBHOOK_QUEUE_NAME, { connection: bullConnection(target, 'test-raw'), prefix });
  let consumer: BullDeliveryQueue | null = null;
  return {
    prefix,
    producer,
    raw,
    startConsumer(process) {
      consumer = new BullDeliveryQueue({
        producer: bullConnection(target, 'test-webhook-queue'),
        consumer: bullConnection(target, 'test-webhook-worker'),
        prefix,
        process,
      });
      return consumer;
    },
    async close() {
      await consumer?.close();
      await producer.close();
      await raw.close();
    },
  };
}

describe('BullMQ delivery queue', () => {
  it('a batch job run again hands each message to a job of its own, and none that has one a second', async () => {
    const [first, held, last] = [message(), message(), message()];
    // Queued while no worker runs: the batch, and the held-back message's own job (as a first run
    // of the batch leaves it).
    const { prefix, producer, raw, startConsumer, close } = queueWithoutWorker();
    const seen: string[] = [];
    try {
      await producer.add([first, held, last]);
      await raw.add('webhook', held, { jobId: held.id, delay: HELD_MS });
      const [batch] = await raw.getJobs(['waiting']);
      expect(batch?.name).toBe('batch');
      // As if a worker had taken it once already and died.
      await (await raw.client).hset(`${prefix}:${WEBHOOK_QUEUE_NAME}:${batch!.id}`, { ats: '1' });
      const consumer = startConsumer(async (m) => {
        seen.push(m.id);
        return null;
      });
      await waitUntil('the two messages without a job of their own', () => seen.length === 2);
      expect([...seen].sort()).toEqual([first.id, last.id].sort());
      // The held one keeps its own job, waiting: no second job runs it now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(seen).toHaveLength(2);
      expect(await raw.getJobState(held.id)).toBe('delayed');
      await consumer.wake(held.id);
      await waitUntil('the woken one', () => seen.length === 3);
      expect(seen[2]).toBe(held.id);
    } finally {
      await close();
    }
  });

  it('hold each body once, and hand out every message whole; a batch queued with a body in each message reads the same', async () => {
    const shared = JSON.stringify({ type: 'session.switched', data: { version: 2 } });
    // Two endpoints' messages of one change share their body (the same string, as messagesFor makes them).
    const batch = [
      { ...message(), body: shared },
      { ...message(), endpointId: 'ep_2', body: shared },
      { ...message(), version: 3, body: '{"version":3}' },
    ];
    const older = [message(), { ...message(), body: '{"older":true}' }];
    const { producer, raw, startConsumer, close } = queueWithoutWorker();
    const seen: WebhookMessage[] = [];
    try {
      await producer.add(batch);
      const [job] = await raw.getJobs(['waiting']);
      expect(job?.data.bodies).toEqual([shared, '{"version":3}']);
      await raw.add('batch', { messages: older }, { jobId: `batch_older_${randomUUID()}` });
      startConsumer(async (m) => {
        seen.push(m);
        return null;
      });
      await waitUntil('all five', () => seen.length === 5);
      const byId = (a: WebhookMessage, b: WebhookMessage) => a.id.localeCompare(b.id);
      expect([...seen].sort(byId)).toEqual([...batch, ...older].sort(byId));
    } finally {
      await close();
    }
  });
});

queueSuite('LMDB', () => (process) => LmdbDeliveryQueue.open(testDataDir(), { process }));

describe('LMDB delivery queue', () => {
  it('a message woken while it is being looked at is due at once after', async () => {
    let release!: () => void;
    const looking = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: string[] = [];
    const queue = await LmdbDeliveryQueue.open(testDataDir(), {
      process: async (m) => {
        seen.push(m.id);
        if (seen.length > 1) return null;
        await looking;
        return { retryInMs: HELD_MS };
      },
    });
    try {
      const held = message();
      await queue.add([held]);
      await waitUntil('the first look', () => seen.length === 1);
      await queue.wake(held.id);
      release();
      await waitUntil('the woken look', () => seen.length === 2);
    } finally {
      await queue.close();
    }
  });
});
