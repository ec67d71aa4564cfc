import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { stateStoreContract, type PublishedMessage } from './stateStore.contract.js';

stateStoreContract('memory', async () => {
  const published: PublishedMessage[] = [];
  const store = new MemoryStateStore({
    publish: (sessionId, stateJson) => published.push({ sessionId, stateJson }),
    sweepIntervalMs: 50,
  });
  return {
    store,
    published: () => published,
    async cleanup() {
      await store.close();
      await store.close();
    },
  };
});
