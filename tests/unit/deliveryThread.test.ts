// The instance's delivery thread as its owner sees it: attempts reported there reach the observer,
// a thread that fails is started again (and no more once closing), close waits for the thread.
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from '../../src/webhooks/DeliveryProcessor.js';
import {
  RESTART_DELAY_MS,
  startDeliveryThread,
  type DeliveryThread,
} from '../../src/webhooks/deliveryThread.js';
import type { Logger } from '../../src/monitoring/logger.js';

const ENTRY = new URL('../helpers/crashingThread.mjs', import.meta.url).href;

function recordingLogger(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  const logger = {
    error: (_fields: unknown, message?: string) => errors.push(message ?? ''),
    warn: () => {},
    info: () => {},
  } as unknown as Logger;
  return { logger, errors };
}

let thread: DeliveryThread | null = null;
afterEach(async () => {
  await thread?.close();
  thread = null;
});

async function start(stay: boolean) {
  const { logger, errors } = recordingLogger();
  const attempts: Array<[DeliveryOutcome, number | null]> = [];
  thread = await startDeliveryThread({
    // The stand-in reads only `stay`.
    data: { stay } as never,
    ready: Promise.resolve(true),
    observer: { onAttempt: (outcome, durationMs) => attempts.push([outcome, durationMs]) },
    logger,
    entry: ENTRY,
  });
  return { errors, attempts };
}

const until = async (what: string, probe: () => boolean): Promise<void> => {
  const deadline = Date.now() + 10_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('delivery thread', () => {
  it('hands the attempts the thread reports to the observer, as reported', async () => {
    const { attempts } = await start(true);
    await until('the report', () => attempts.length === 2);
    expect(attempts).toEqual([
      ['delivered', 12],
      ['disabled', null],
    ]);
  });

  it('starts a thread that failed again, and stops doing so once closed', async () => {
    const { errors, attempts } = await start(false);
    // Each start reports its two attempts: a third and fourth mean it was started again.
    await until('a second start', () => attempts.length >= 4);
    expect(errors.filter((e) => e.includes('starting it again')).length).toBeGreaterThanOrEqual(1);
    await thread!.close();
    const reported = attempts.length;
    await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS + 300));
    expect(attempts.length).toBe(reported);
  });

  it('a thread module that cannot load fails the start', async () => {
    const { logger } = recordingLogger();
    await expect(
      startDeliveryThread({
        data: {} as never,
        ready: Promise.resolve(true),
        observer: {},
        logger,
        entry: new URL('../helpers/no-such-thread.mjs', import.meta.url).href,
      }),
    ).rejects.toThrow();
  });
});
