import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { apiFuzzSuite } from './api.fuzz.js';

apiFuzzSuite(
  'memory',
  async () => {
    const store = new MemoryStateStore();
    return { engine: new SyncEngine({ store, clock: systemClock }), store, cleanup: () => store.close() };
  },
  { numRuns: 1_500 },
);
