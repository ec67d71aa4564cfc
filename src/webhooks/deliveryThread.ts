// An instance's webhook delivery in a worker thread of its own (distributed mode): the attempts,
// their database statements and their HTTP run on another event loop, at a lower priority (nice),
// so a burst of deliveries never holds up a command waiting on the instance's event loop. The
// thread is a webhook worker in all but process; a thread that dies is started again.
import { Worker } from 'node:worker_threads';
import type { LogLevel, NodeEnv } from '../config/config.js';
import type { Logger } from '../monitoring/logger.js';
import type { RedisTarget } from '../state/redisConnection.js';
import type { DeliveryObserver, DeliveryOutcome } from './DeliveryProcessor.js';

/** What the thread needs to deliver (structured-cloned into it). */
export interface DeliveryThreadData {
  redis: RedisTarget;
  bullPrefix: string;
  databaseUrl: string;
  retryScheduleMs: readonly number[];
  allowPrivate: boolean;
  attemptTimeoutMs?: number;
  /** The thread's nice value (WEBHOOK_WORKER_NICE). */
  nice: number;
  logLevel: LogLevel;
  nodeEnv: NodeEnv;
}

export type ToThread = { type: 'ready'; ready: boolean } | { type: 'close' };

export type ThreadReport =
  | { type: 'started' }
  | { type: 'closed' }
  /** The attempts since the last report: outcome and duration (null: no request was made). */
  | { type: 'attempts'; attempts: Array<[DeliveryOutcome, number | null]> };

/** The thread's code: TypeScript run from source (the boot module registers tsx), else the build's. */
const BOOT = new URL('./deliveryThreadBoot.mjs', import.meta.url);
const ENTRY = new URL(
  import.meta.url.endsWith('.ts') ? './deliveryThreadMain.ts' : './deliveryThreadMain.js',
  import.meta.url,
).href;
export const RESTART_DELAY_MS = 1_000;
const CLOSE_BOUND_MS = 15_000;

export interface DeliveryThread {
  close(): Promise<void>;
}

export async function startDeliveryThread(options: {
  data: DeliveryThreadData;
  /** The audit database migrated (true), or closed first (false). */
  ready: Promise<boolean>;
  observer: DeliveryObserver;
  logger: Logger;
  /** The thread's module (default: the delivery's); it speaks ThreadReport and ToThread. */
  entry?: string;
}): Promise<DeliveryThread> {
  const { logger, observer } = options;
  const entry = options.entry ?? ENTRY;
  let closing = false;
  let worker: Worker;
  let closed: Promise<void> = Promise.resolve();

  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      let started = false;
      let onClosed: () => void = () => {};
      closed = new Promise((done) => (onClosed = done));
      worker = new Worker(BOOT, { workerData: { entry, data: options.data } });
      worker.on('message', (report: ThreadReport) => {
        if (report.type === 'started') {
          started = true;
          void options.ready.then((ready) => worker.postMessage({ type: 'ready', ready } satisfies ToThread));
          resolve();
        } else if (report.type === 'attempts') {
          for (const [outcome, durationMs] of report.attempts) observer.onAttempt?.(outcome, durationMs);
        } else onClosed();
      });
      worker.on('error', (err) => {
        if (!started) reject(err);
        else logger.error({ err }, 'webhook delivery thread failed');
      });
      worker.on('exit', (code) => {
        onClosed();
        if (!started) reject(new Error(`the webhook delivery thread exited (${code}) before it started`));
        else if (!closing) {
          // Its jobs are not lost: BullMQ gives them to a worker again once their lock runs out.
          logger.error(
            { code },
            `webhook delivery thread stopped; starting it again in ${RESTART_DELAY_MS} ms`,
          );
          setTimeout(() => {
            if (!closing)
              start().catch((err: unknown) =>
                logger.error({ err }, 'webhook delivery thread could not start'),
              );
          }, RESTART_DELAY_MS).unref();
        }
      });
    });

  await start();
  return {
    async close() {
      if (closing) return;
      closing = true;
      worker.postMessage({ type: 'close' } satisfies ToThread);
      const bound = new Promise<'bound'>((resolve) =>
        setTimeout(() => resolve('bound'), CLOSE_BOUND_MS).unref(),
      );
      if ((await Promise.race([closed.then(() => 'closed' as const), bound])) === 'bound') {
        logger.warn(`webhook delivery thread did not close within ${CLOSE_BOUND_MS} ms; stopping it`);
      }
      await worker.terminate();
    },
  };
}
