// A control load for the webhook-switch row: a process at nice 19 that only burns CPU, in slices
// of a fraction of a millisecond, as much of it as the deliveries used. What it costs the
// switches is what that much low-priority CPU costs on this machine, whatever the code doing it.
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const BURNER_NICE = 19;
const SLICE_MS = 0.3;

/**
 * One thread's loop: SLICE_MS busy, then asleep for as long as keeps it at `workerData` of a core.
 * Plain JavaScript, evaluated: a Node 20 thread would not load a .ts file through tsx.
 */
const THREAD_SOURCE = `
  const os = require('node:os');
  const { workerData: duty } = require('node:worker_threads');
  os.setPriority(0, ${BURNER_NICE}); // per thread on Linux
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const sleepMs = (${SLICE_MS} * (1 - duty)) / duty;
  for (;;) {
    const until = performance.now() + ${SLICE_MS};
    while (performance.now() < until);
    if (sleepMs > 0) Atomics.wait(sleeper, 0, 0, sleepMs);
  }
`;

export interface CpuBurner {
  pid: number;
  stop(): Promise<void>;
}

/** Starts burning `cores` (0.1 = a tenth of one core) until stopped. */
export async function startCpuBurner(cores: number): Promise<CpuBurner> {
  const child = fork(fileURLToPath(import.meta.url), ['--burn', String(cores)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  os.setPriority(child.pid!, BURNER_NICE);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the CPU burner exited (${code})`)));
  });
  return {
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

if (process.argv.includes('--burn')) {
  const cores = Number(process.argv[process.argv.indexOf('--burn') + 1]);
  const threads = Math.max(1, Math.ceil(cores));
  for (let i = 0; i < threads; i++) new Worker(THREAD_SOURCE, { eval: true, workerData: cores / threads });
  // The parent gone (killed, or done): so is the burner.
  process.on('disconnect', () => process.exit(0));
  process.send?.('burning');
}
