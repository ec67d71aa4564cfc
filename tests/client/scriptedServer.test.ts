// Connection edge cases that a real server hits only by chance, played against a scripted
// socket passed as the `WebSocket` option.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type SyncKairosHandle } from '@synckairos/client';
import { ScriptedSocket, scriptedState as state } from '../helpers/scriptedSocket.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('client SDK against a scripted server', () => {
  let handle: SyncKairosHandle | null = null;

  afterEach(async () => {
    await handle?.close();
    ScriptedSocket.opened = [];
    ScriptedSocket.version = 1;
    ScriptedSocket.afterPong = null;
  });

  async function open(): Promise<SyncKairosHandle> {
    handle = await connect({
      url: 'http://scripted.test',
      sessionId: 's',
      WebSocket: ScriptedSocket,
      reconnect: { baseDelayMs: 0 },
    });
    return handle;
  }

  it('a connection dropped in the middle of a clock sync syncs afresh on the next one and comes back', async () => {
    const h = await open();
    const events: string[] = [];
    h.on('connection', (status) => events.push(status));
    ScriptedSocket.afterPong = (socket) => {
      ScriptedSocket.afterPong = null;
      socket.drop(); // between two PINGs of the sync
    };
    await expect(h.sync()).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await sleep(200);
    expect(events).toEqual(['reconnecting', 'connected']);
    expect(ScriptedSocket.opened).toHaveLength(2);
  });

  it('drops a STATE older than or as old as the applied one', async () => {
    ScriptedSocket.version = 5;
    const h = await open();
    const seen: number[] = [];
    h.on('state', (s) => seen.push(s.version));
    const socket = ScriptedSocket.opened[0]!;
    for (const version of [4, 5, 7, 6, 8]) socket.deliver({ type: 'STATE', state: state(version) });
    expect(seen).toEqual([7, 8]);
    expect(h.state.version).toBe(8);
  });

  it('a command waiting for its answer rejects when the connection drops', async () => {
    const h = await open();
    const pending = h.switch();
    ScriptedSocket.opened[0]!.drop(1001);
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED', status: 0 });
    expect(ScriptedSocket.opened[0]!.sent.at(-1)).toMatchObject({ type: 'SWITCH' });
  });

  it('a token refused mid-session rejects the command in flight with UNAUTHORIZED and never reconnects', async () => {
    const h = await open();
    const events: string[] = [];
    h.on('connection', (status) => events.push(status));
    const pending = h.switch();
    const socket = ScriptedSocket.opened[0]!;
    socket.deliver({
      type: 'ERROR',
      request_id: null,
      error: { code: 'UNAUTHORIZED', message: 'token expired' },
    });
    socket.drop(1008);
    await expect(pending).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await sleep(100);
    expect(events).toEqual(['unauthorized']);
    expect(h.connectionStatus).toBe('unauthorized');
    expect(ScriptedSocket.opened).toHaveLength(1);
    await expect(h.pause()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rejects a command with the code and details of its ERROR', async () => {
    const h = await open();
    const pending = h.adjust({ participantId: 'a', deltaMs: -1 });
    const socket = ScriptedSocket.opened[0]!;
    const sent = socket.sent.at(-1)!;
    expect(sent).toEqual({ type: 'ADJUST', request_id: sent.request_id, participant_id: 'a', delta_ms: -1 });
    socket.deliver({
      type: 'ERROR',
      request_id: sent.request_id,
      error: { code: 'VALIDATION_ERROR', message: 'no', details: { issues: [] } },
    });
    await expect(pending).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      status: 400,
      details: { issues: [] },
    });
  });
});
