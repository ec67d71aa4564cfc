// While an instance shuts down, its open sockets are told to go elsewhere (1001) and a late
// upgrade (one that arrives while HTTP requests still drain) is refused with SHUTTING_DOWN.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { MemorySessionBus } from '../../src/state/MemorySessionBus.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import { SessionFanout } from '../../src/websocket/SessionFanout.js';
import { SyncWebSocketServer } from '../../src/websocket/WebSocketServer.js';
import { openSocket, UpgradeRefusedError } from '../helpers/wsClient.js';

describe('WebSocket server shutdown', () => {
  const bus = new MemorySessionBus();
  const store = new MemoryStateStore({ publish: bus.publish });
  const engine = new SyncEngine({ store, clock: systemClock });
  const server = http.createServer((_req, res) => res.end());
  let url: string;
  let websocket: SyncWebSocketServer;

  beforeAll(async () => {
    const fanout = new SessionFanout({
      bus,
      clock: systemClock,
      readSession: (sessionId) => engine.getSession(sessionId),
    });
    websocket = new SyncWebSocketServer({ server, engine, fanout });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/ws`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await bus.close();
    await store.close();
  });

  it('closes open sockets with 1001 and refuses a late upgrade with 503 SHUTTING_DOWN', async () => {
    const open = await openSocket(url);
    await websocket.close();
    expect((await open.closed).code).toBe(1001);

    const refused = await openSocket(url).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(UpgradeRefusedError);
    expect((refused as UpgradeRefusedError).status).toBe(503);
    expect(JSON.parse((refused as UpgradeRefusedError).body)).toMatchObject({
      error: { code: 'SHUTTING_DOWN' },
    });
  });
});
