// What one connection sends around its own command: fan-out for that session waits for the
// ACK, and then only a newer version goes out. The engine, fan-out and socket are stand-ins.
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { ANONYMOUS_ADMIN } from '../../src/auth/tokens.js';
import type { SyncEngine } from '../../src/engine/SyncEngine.js';
import { SyncKairosError } from '../../src/types/errors.js';
import { RenderedView } from '../../src/engine/renderedView.js';
import { ClientConnection, ackFrame } from '../../src/websocket/ClientConnection.js';
import { sessionStateFixture } from '../helpers/fixtures.js';
import { DEFAULT_WEBSOCKET_LIMITS } from '../../src/websocket/limits.js';
import type { SessionView } from '../../src/types/session.js';
import { StateFrame, type SessionFanout } from '../../src/websocket/SessionFanout.js';

const SESSION = 'game-1';

const frameOf = (version: number) => StateFrame.of(() => ({ version }) as SessionView);

/** A connection watching SESSION (at version 2) whose one command finishes when the test says. */
async function connectionWithCommandInFlight() {
  const sent: Array<{ type: string; version?: number; code?: string }> = [];
  const ws = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    send(frame: string | Buffer) {
      const message = JSON.parse(frame.toString()) as {
        type: string;
        state?: { version: number };
        error?: { code: string };
      };
      sent.push({ type: message.type, version: message.state?.version, code: message.error?.code });
    },
  };
  let finish!: { resolve: (version: number) => void; reject: (err: unknown) => void };
  const engine = {
    executeDetailed: () =>
      new Promise((resolve, reject) => {
        const rendered = (version: number) => ({
          state: { version },
          view: { version },
          json: JSON.stringify({ version }),
        });
        finish = { resolve: (version) => resolve({ rendered: rendered(version) }), reject };
      }),
  };
  const connection = new ClientConnection(ws as unknown as WebSocket, {
    engine: engine as unknown as SyncEngine,
    principal: ANONYMOUS_ADMIN,
    fanout: {
      watch: async (sessionId: string, watcher: ClientConnection) =>
        watcher.deliver(sessionId, 2, frameOf(2)),
    } as unknown as SessionFanout,
    limits: DEFAULT_WEBSOCKET_LIMITS,
    onError: () => undefined,
  });
  await connection.subscribe(SESSION);
  const command = connection.handleMessage(Buffer.from(JSON.stringify({ type: 'SWITCH' })), false);
  await new Promise((resolve) => setImmediate(resolve));
  return { connection, sent, finish, command };
}

describe('a connection running its own command', () => {
  it('sends nothing of the session before the ACK, then drops the STATE the ACK already carried', async () => {
    const { connection, sent, finish, command } = await connectionWithCommandInFlight();
    connection.deliver(SESSION, 3, frameOf(3));
    expect(sent).toEqual([{ type: 'STATE', version: 2 }]);
    finish.resolve(3);
    await command;
    expect(sent).toEqual([
      { type: 'STATE', version: 2 },
      { type: 'ACK', version: 3 },
    ]);
  });

  it('after the ACK sends the newest held STATE if it is newer than the ACK', async () => {
    const { connection, sent, finish, command } = await connectionWithCommandInFlight();
    connection.deliver(SESSION, 4, frameOf(4));
    connection.deliver(SESSION, 3, frameOf(3));
    finish.resolve(3);
    await command;
    expect(sent.slice(1)).toEqual([
      { type: 'ACK', version: 3 },
      { type: 'STATE', version: 4 },
    ]);
    connection.deliver(SESSION, 4, frameOf(4));
    expect(sent).toHaveLength(3);
  });

  it('when the command fails, sends the held STATE and the ERROR', async () => {
    const { connection, sent, finish, command } = await connectionWithCommandInFlight();
    connection.deliver(SESSION, 3, frameOf(3));
    finish.reject(new SyncKairosError('VERSION_CONFLICT', 'stale'));
    await command;
    expect(sent.slice(1)).toEqual([
      { type: 'STATE', version: 3 },
      { type: 'ERROR', code: 'VERSION_CONFLICT' },
    ]);
    connection.deliver(SESSION, 4, frameOf(4));
    expect(sent.at(-1)).toEqual({ type: 'STATE', version: 4 });
  });
});

describe('the ACK frame', () => {
  it('is the JSON of { type, request_id, state } around the commit’s own JSON', () => {
    const state = sessionStateFixture({ version: 4, lastEvent: 'switched' });
    const rendered = new RenderedView(state, state.createdAtMs + 10);
    for (const requestId of ['r-1', null, 'quote " and \\ and \u2028 and é']) {
      const frame = ackFrame(requestId, rendered);
      expect(JSON.parse(frame)).toStrictEqual({ type: 'ACK', request_id: requestId, state: rendered.view });
      expect(frame).toBe(JSON.stringify({ type: 'ACK', request_id: requestId, state: rendered.view }));
    }
  });
});
