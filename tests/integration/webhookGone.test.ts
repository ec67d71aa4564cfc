// A 410 disables the endpoint and ends its other pending messages; the message that got the 410
// is logged with its own answer, never (not even for a moment) as one more "endpoint disabled".
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/audit/migrate.js';
import { pgliteClient, type SqlClient } from '../../src/audit/sqlClient.js';
import { DeliveryProcessor } from '../../src/webhooks/DeliveryProcessor.js';
import type { WebhookMessage } from '../../src/webhooks/messages.js';
import { WebhookStore, type AttemptRecord } from '../../src/webhooks/WebhookStore.js';
import { freshPgliteDataDir, type PgliteDataDir } from '../helpers/postgresServer.js';

/** The real store, whose outcomes are written only once the test lets them through. */
class HeldFinishStore extends WebhookStore {
  finishing: Promise<void>;
  private reachedFinish!: () => void;
  private release!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));

  constructor(sql: SqlClient) {
    super(sql);
    this.finishing = new Promise((resolve) => (this.reachedFinish = resolve));
  }

  override async finish(attempts: readonly AttemptRecord[]): Promise<(string | null)[]> {
    this.reachedFinish();
    await this.released;
    return super.finish(attempts);
  }

  letFinish(): void {
    this.release();
  }
}

const message = (version: number): WebhookMessage => ({
  id: `msg_gone_${version}`,
  endpointId: 'ep_gone',
  sessionId: 'gone-session',
  version,
  type: 'session.switched',
  body: JSON.stringify({ version }),
});

describe('a 410 from the receiver', () => {
  let data: PgliteDataDir;
  let sql: SqlClient;
  let receiver: Server;

  beforeAll(async () => {
    data = await freshPgliteDataDir();
    sql = await pgliteClient(data.dir);
    await runMigrations(sql);
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(410).end('gone'));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    receiver?.close();
    await sql?.close();
    await data?.remove();
  });

  it('logs the message that got it with its 410, and the others as ended by the disabling', async () => {
    const store = new HeldFinishStore(sql);
    const { port } = receiver.address() as AddressInfo;
    await store.insertEndpoint(
      {
        id: 'ep_gone',
        url: `http://127.0.0.1:${port}/hook`,
        events: ['*'],
        sessionId: null,
        secret: 'whsec_' + Buffer.alloc(24, 1).toString('base64'),
        disabled: false,
        disabledReason: null,
        createdAtMs: Date.now(),
      },
      10,
    );
    await store.logPending([message(1), message(2)], Date.now());
    const processor = new DeliveryProcessor({ store, retryScheduleMs: [10], allowPrivate: true });

    const processing = processor.process(message(1));
    await store.finishing;
    // The endpoint is disabled and the later message ended; the first waits for its own outcome.
    expect((await store.getEndpoint('ep_gone'))?.disabled).toBe(true);
    const meanwhile = await store.deliveries('ep_gone', 0, 10);
    expect(meanwhile.map((row) => [row.messageId, row.status])).toEqual([
      ['msg_gone_1', 'pending'],
      ['msg_gone_2', 'failed'],
    ]);
    expect(meanwhile[1]!.lastError).toMatch(/^endpoint disabled: .*410/);

    store.letFinish();
    expect(await processing).toBeNull();
    const [first, second] = await store.deliveries('ep_gone', 0, 10);
    expect(first).toMatchObject({ status: 'failed', attempts: 1, lastResponseCode: 410 });
    expect(first!.lastError).toMatch(/^HTTP 410/);
    expect(second).toMatchObject({ status: 'failed', attempts: 0, lastResponseCode: null });
  });
});
