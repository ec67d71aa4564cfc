// The SDK's clock sync on a jittered network: 20 handles connect through a proxy adding
// 50 ± 30 ms each way (order kept), each with its own skewed clock. Every estimate they publish
// holds the true offset within its ±, and 10 s after connect() the error is within 2 ms at p99.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createClient, type ClockSyncInfo, type SyncKairosHandle } from '@synckairos/client';
import { startDelayProxy, type DelayProxy } from '../helpers/delayProxy.js';
import { performanceEpochMs, trueOffsetOfPerformanceClockMs } from '../helpers/performanceClock.js';
import { listeningPort, startService, stopAllServices } from '../helpers/serviceProcess.js';

const CONNECTS = 20;
const ONE_WAY_DELAY_MS = 50;
const JITTER_MS = 30;
/** What the SDK promises: within this long of connect()… */
const WINDOW_MS = 10_000;
/** …the p99 error is within this. */
const P99_ERROR_MS = 2;
/** The truth itself is known to a few µs (Date.now()'s tick, read on the performance clock). */
const TRUTH_SLACK_MS = 0.05;
/**
 * The path's floor: 30 − 20 ms each way, plus what timers and loopback add (a few ms). The best
 * delays out and back that an estimate found add up to twice its uncertainty; beyond this floor,
 * the machine (two cores shared with other work) added delays of its own on top of the proxy's,
 * and the path measured was not 50 ± 30 ms.
 */
const PATH_FLOOR_MS = 2 * (ONE_WAY_DELAY_MS - JITTER_MS) + 6;

let http: string;
let proxy: DelayProxy;
const handles: SyncKairosHandle[] = [];

beforeAll(async () => {
  // Its own process: the server's work does not delay this one's proxy and clients. Its clock is
  // this machine's real-time clock, as Date.now() here reads it.
  const service = startService({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  const port = listeningPort(await service.waitForLog((line) => line.msg.startsWith('listening')));
  http = `http://127.0.0.1:${port}`;
  proxy = await startDelayProxy(port, ONE_WAY_DELAY_MS, { jitterMs: JITTER_MS });
}, 30_000);

afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  await proxy?.close();
  await stopAllServices();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

describe('clock sync through a jittered proxy', () => {
  it('every published estimate covers the truth, and 10 s after connect() the p99 error is ≤ 2 ms', async ({
    annotate,
    skip,
  }) => {
    const sessionId = `jitter-${process.pid}`;
    await createClient({ url: http }).createSession({
      session_id: sessionId,
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      total_time_ms: 60_000,
    });
    const connectedAtMs = performance.now();
    const runs = await Promise.all(
      Array.from({ length: CONNECTS }, async (_, i) => {
        // Each its own skew, so no two share a truth.
        const skewMs = 5_000 + i * 37.31;
        const syncs: ClockSyncInfo[] = [];
        const handle = await connect({
          url: `http://127.0.0.1:${proxy.port}`,
          sessionId,
          clock: { nowMs: () => performanceEpochMs() + skewMs },
          // A loaded machine may take long to connect 20 at once; the window still counts from here.
          connectTimeoutMs: 20_000,
        });
        handles.push(handle);
        // The estimate connect() resolved with, then every one published after it.
        syncs.push({
          offsetMs: handle.offsetMs,
          uncertaintyMs: handle.uncertaintyMs,
          roundTripMs: handle.roundTripMs,
        });
        handle.on('sync', (sync) => syncs.push(sync));
        return { handle, skewMs, syncs };
      }),
    );
    await sleep(connectedAtMs + WINDOW_MS - performance.now());
    const atWindow = runs.map(({ handle }) => ({
      offsetMs: handle.offsetMs,
      uncertaintyMs: handle.uncertaintyMs,
    }));
    const performanceToServerMs = trueOffsetOfPerformanceClockMs();

    const errors = runs.map(({ skewMs }, i) => atWindow[i]!.offsetMs - (performanceToServerMs - skewMs));
    const firstErrors = runs.map(
      ({ skewMs, syncs }) => syncs[0]!.offsetMs - (performanceToServerMs - skewMs),
    );
    const absErrors = errors.map(Math.abs).sort((a, b) => a - b);
    const uncertainties = atWindow.map((e) => e.uncertaintyMs).sort((a, b) => a - b);
    const published = runs.reduce((n, run) => n + run.syncs.length, 0);
    await annotate(
      `after ${WINDOW_MS / 1000} s, |error| p50 ${quantile(absErrors, 0.5).toFixed(3)} ms, ` +
        `p99 ${quantile(absErrors, 0.99).toFixed(3)} ms, max ${absErrors.at(-1)!.toFixed(3)} ms; ` +
        `uncertainty ${uncertainties[0]!.toFixed(2)}–${uncertainties.at(-1)!.toFixed(2)} ms; ` +
        `at connect() |error| max ${Math.max(...firstErrors.map(Math.abs)).toFixed(3)} ms; ` +
        `${published} estimates published by ${CONNECTS} handles`,
    );

    // Every estimate any handle published held the truth within its ±.
    for (const { skewMs, syncs } of runs) {
      for (const sync of syncs) {
        const errorMs = sync.offsetMs - (performanceToServerMs - skewMs);
        expect(Math.abs(errorMs)).toBeLessThanOrEqual(sync.uncertaintyMs + TRUTH_SLACK_MS);
      }
    }
    // Background samples refined the estimates, each announced at most once: 10 s of PINGs at
    // 15 a second, and a burst, give no more than 200 per handle.
    expect(published).toBeGreaterThan(CONNECTS);
    expect(published).toBeLessThanOrEqual(CONNECTS * 200);
    // The precision promised is on a 50 ± 30 ms path: on a starved machine it is not measurable.
    const worstFloorMs = 2 * uncertainties.at(-1)!;
    if (worstFloorMs > PATH_FLOOR_MS)
      skip(
        `the machine added delays of its own: best delays out and back up to ${worstFloorMs.toFixed(1)} ms`,
      );
    expect(quantile(absErrors, 0.99)).toBeLessThanOrEqual(P99_ERROR_MS);
  }, 60_000);
});
