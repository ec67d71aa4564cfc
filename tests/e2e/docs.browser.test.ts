// The /docs page in real headless Chromium (the system's or playwright's, driven by playwright-core):
// Swagger UI loads from this service under its Content-Security-Policy, with no violation, and
// renders every operation of /openapi.json.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { buildOpenApiDocument, documentedRoutes } from '../../src/api/openapi.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { launchChromium } from '../helpers/chromium.js';

// Without a browser the file fails with the one line that says how to install one.
const browser = await launchChromium('the docs page browser test');

describe('the /docs page in Chromium', () => {
  let server: http.Server;
  let store: MemoryStateStore;
  let url: string;

  beforeAll(async () => {
    store = new MemoryStateStore();
    const app = createApp({
      engine: new SyncEngine({ store, clock: systemClock }),
      store,
      logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
      metrics: createMetrics({ defaultMetrics: false }),
      bodyLimitBytes: 65_536,
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await browser.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await store?.close();
  });

  it('renders every operation of the document with no CSP violation and nothing fetched from elsewhere', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('request', (request) => {
      if (!request.url().startsWith(url) && !request.url().startsWith('data:')) foreign.push(request.url());
    });
    try {
      const response = await page.goto(`${url}/docs`);
      expect(response?.status()).toBe(200);
      const operations = documentedRoutes(buildOpenApiDocument({ bodyLimitBytes: 65_536 }));
      await page.waitForFunction(
        (count) => document.querySelectorAll('.opblock').length >= count,
        operations.length,
        // Swagger UI is 1.5 MB of script: slow to parse on a busy two-core machine.
        { timeout: 45_000 },
      );
      expect(await page.locator('.opblock').count()).toBe(operations.length);
      expect(await page.locator('.info .title').innerText()).toContain('SyncKairos');
      expect(problems).toEqual([]);
      expect(foreign).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
