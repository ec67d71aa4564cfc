// A stand-in for the delivery thread (deliveryThread.ts's `entry`): it starts, reports two
// attempts, and then fails, unless its workerData says `{ stay: true }`. It closes when asked.
import { setTimeout } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';

parentPort.postMessage({ type: 'started' });
parentPort.postMessage({
  type: 'attempts',
  attempts: [
    ['delivered', 12],
    ['disabled', null],
  ],
});
parentPort.on('message', (message) => {
  if (message.type === 'close') {
    parentPort.postMessage({ type: 'closed' });
    parentPort.close();
  }
});
if (workerData.data.stay !== true) {
  setTimeout(() => {
    throw new Error('the thread failed');
  }, 50);
}
