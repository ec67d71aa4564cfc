// The delivery thread's first module (deliveryThread.ts starts it). Node 20 does not load a
// worker's TypeScript entry through the parent's `--import tsx`, so run from source this registers
// tsx in the thread first; built, the entry is JavaScript and loads as it is.
import { workerData } from 'node:worker_threads';

const { entry } = workerData;
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(entry);
