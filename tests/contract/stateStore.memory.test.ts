// The embedded store, memory only and with its durable log (LMDB in a data folder): both pass the
// contract every store passes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LmdbSessionLog } from '../../src/state/LmdbSessionLog.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { stateStoreContract, type PublishedMessage, type StateStoreContext } from './stateStore.contract.js';

async function memoryContext(durable: boolean): Promise<StateStoreContext> {
  const published: PublishedMessage[] = [];
  const audit: string[] = [];
  const dataDir = durable ? mkdtempSync(path.join(tmpdir(), 'synckairos-state-')) : null;
  const store = new MemoryStateStore({
    publish: (sessionId, message) => published.push({ sessionId, message }),
    appendAudit: (records) => audit.push(...records),
    sweepIntervalMs: 50,
    ...(dataDir === null ? {} : { log: await LmdbSessionLog.open(dataDir) }),
  });
  return {
    store,
    published: () => published,
    auditLog: async () => [...audit],
    async cleanup() {
      await store.close();
      await store.close();
      if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

stateStoreContract('memory', () => memoryContext(false));
stateStoreContract('memory with a durable log', () => memoryContext(true));
