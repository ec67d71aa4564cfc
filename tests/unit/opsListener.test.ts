// The webhook worker's /health and /metrics listener: what it counts is scrapeable, anything else
// is refused in the one error shape.
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { startOpsListener, type OpsListener } from '../../src/monitoring/opsListener.js';

let listener: OpsListener | null = null;

afterEach(async () => {
  await listener?.close();
  listener = null;
});

async function start(): Promise<{ base: string; metrics: ReturnType<typeof createMetrics> }> {
  const metrics = createMetrics({ defaultMetrics: false });
  listener = await startOpsListener({ host: '127.0.0.1', port: 0, metrics });
  return { base: `http://127.0.0.1:${listener.port}`, metrics };
}

describe('ops listener', () => {
  it('serves the metrics registry as it is at the scrape, and /health', async () => {
    const { base, metrics } = await start();
    metrics.webhookDeliveries.inc({ outcome: 'delivered' }, 3);
    metrics.gauges.webhookBacklog = async () => 7;

    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toBe(metrics.registry.contentType);
    const text = await scrape.text();
    expect(text).toContain('synckairos_webhook_deliveries_total{outcome="delivered"} 3');
    expect(text).toContain('synckairos_webhook_backlog 7');

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('refuses other paths and methods in the one error shape', async () => {
    const { base } = await start();
    const missing = await fetch(`${base}/v1/sessions`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'No such endpoint: GET /v1/sessions' },
    });

    const posted = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(posted.status).toBe(405);
    expect(posted.headers.get('allow')).toBe('GET, HEAD');
    expect(((await posted.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  // prom-client writes `Nan`; Prometheus reads NaN in any case (Go's ParseFloat).
  it('a scrape whose gauge fails still answers, the gauge as NaN', async () => {
    const { base, metrics } = await start();
    metrics.gauges.webhookBacklog = async () => {
      throw new Error('Redis is down');
    };
    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toMatch(/^synckairos_webhook_backlog nan$/im);
  });

  it('a port in use is an error at start, not a silent worker without metrics', async () => {
    const { metrics } = await start();
    await expect(startOpsListener({ host: '127.0.0.1', port: listener!.port, metrics })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });
});
