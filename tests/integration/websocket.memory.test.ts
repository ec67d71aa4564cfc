import { websocketSuite } from './websocket.suite.js';

// Embedded mode: no REDIS_URL, the in-process store and bus.
websocketSuite('embedded', async () => ({ env: {}, cleanup: async () => {} }));
