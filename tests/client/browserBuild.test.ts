// The SDK's browser build as the service serves it at /sdk/client.js, and the demo page using
// that same file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { testDataDir } from '../helpers/testDataDir.js';

describe('the SDK browser build', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: testDataDir() }),
    );
  });

  afterAll(async () => {
    await server?.close();
  });

  it('/sdk/client.js is an ES module exporting the SDK, cacheable and shared with any origin', async () => {
    const response = await fetch(`${server.url}/sdk/client.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const source = await response.text();
    expect(source.trimEnd().endsWith('//# sourceMappingURL=client.js.map')).toBe(true);

    const sdk = (await import(`data:text/javascript,${encodeURIComponent(source)}`)) as Record<
      string,
      unknown
    >;
    expect(typeof sdk.connect).toBe('function');
    expect(typeof sdk.createClient).toBe('function');

    const etag = response.headers.get('etag')!;
    const again = await fetch(`${server.url}/sdk/client.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('its source map leads back to the SDK TypeScript sources', async () => {
    const response = await fetch(`${server.url}/sdk/client.js.map`);
    expect(response.status).toBe(200);
    const map = (await response.json()) as { sources: string[]; sourcesContent?: string[] };
    expect(map.sources.some((source) => source.endsWith('src/connect.ts'))).toBe(true);
  });

  it('the demo page imports that same file instead of a copy of the SDK', async () => {
    const demo = await (await fetch(`${server.url}/demo/demo.js`)).text();
    expect(demo).toMatch(/from\s*"\/sdk\/client\.js"/);
    const sdk = await (await fetch(`${server.url}/sdk/client.js`)).text();
    // The SDK's own error message, present in its build and absent from the demo's script.
    const marker = 'got no answer within';
    expect(sdk).toContain(marker);
    expect(demo).not.toContain(marker);
  });
});
