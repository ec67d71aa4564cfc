import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { stateStoreContract, type PublishedMessage } from './stateStore.contract.js';

stateStoreContract('memory', async () => {
  const published: PublishedMessage[] = [];
  const audit: string[] = [];
  const store = new MemoryStateStore({
    publish: (sessionId, stateJson) => published.push({ sessionId, stateJson }),
    appendAudit: (records) => audit.push(...records),
    sweepIntervalMs: 50,
  });
  return {
    store,
    published: () => published,
    auditLog: async () => [...audit],
    async cleanup() {
      await store.close();
      await store.close();
    },
  };
});
