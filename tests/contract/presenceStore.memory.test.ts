// The embedded presence store passes the contract every presence store passes.
import { MemoryPresenceStore } from '../../src/state/MemoryPresenceStore.js';
import { presenceStoreContract } from './presenceStore.contract.js';

presenceStoreContract('memory', () => {
  const store = new MemoryPresenceStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
});
