// Tokens that expire while a handle is connected, against the real service with JWT auth: a
// token provider hands a fresh one on the reconnect; without one the handle stops for good.
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  createClient,
  type ConnectionStatus,
  type SyncKairosHandle,
  type TokenSource,
} from '@synckairos/client';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { testDataDir } from '../helpers/testDataDir.js';

const SECRET = 'sdk-token-test-secret-0123456789';
const ISSUER = 'https://auth.example.test/';
const AUDIENCE = 'synckairos-tests';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An admin token valid for `lifetimeS` seconds (JWT exp has whole seconds: up to 1 s less). */
function adminToken(lifetimeS: number): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'ops', role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeS)
    .sign(new TextEncoder().encode(SECRET));
}

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('client SDK tokens', { timeout: 45_000 }, () => {
  let server: RunningServer;
  const handles: SyncKairosHandle[] = [];
  let sessionSeq = 0;

  beforeAll(async () => {
    server = await startServer(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        JWT_SECRET: SECRET,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        LOG_LEVEL: 'silent',
        DATA_DIR: testDataDir(),
      }),
    );
  });

  afterEach(async () => {
    await Promise.all(handles.splice(0).map((h) => h.close()));
  });

  afterAll(async () => {
    await server?.close();
  });

  async function openWith(
    token: TokenSource,
  ): Promise<{ handle: SyncKairosHandle; events: ConnectionStatus[] }> {
    const sessionId = `tok-${process.pid}-${++sessionSeq}`;
    await createClient({ url: server.url, token: await adminToken(3600) }).createSession({
      session_id: sessionId,
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
      total_time_ms: 60_000,
    });
    const handle = await connect({ url: server.url, sessionId, token, reconnect: { baseDelayMs: 10 } });
    handles.push(handle);
    const events: ConnectionStatus[] = [];
    handle.on('connection', (status) => events.push(status));
    return { handle, events };
  }

  it('a string token that expires mid-session stops the handle as unauthorized, without reconnecting', async () => {
    const { handle, events } = await openWith(await adminToken(4));
    await waitFor(() => events.length > 0);
    await sleep(300); // a reconnect would have begun by now
    expect(events).toEqual(['unauthorized']);
    expect(handle.connectionStatus).toBe('unauthorized');
    await expect(handle.switch()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a token provider hands a fresh token on the reconnect and the handle goes on', async () => {
    let calls = 0;
    const { handle, events } = await openWith(() => adminToken(++calls === 1 ? 4 : 3600));
    await handle.start();
    await waitFor(() => events.includes('connected'));
    expect(events).toEqual(['reconnecting', 'connected']);
    expect(calls).toBe(2);
    const switched = await handle.switch();
    expect(switched.active_participant_id).toBe('black');
  });

  it('a provider that returns the refused token again stops the handle instead of looping', async () => {
    const expiring = await adminToken(4);
    let calls = 0;
    const { handle, events } = await openWith(async () => {
      calls++;
      return expiring;
    });
    await waitFor(() => events.includes('unauthorized'));
    await sleep(300);
    expect(events).toEqual(['reconnecting', 'unauthorized']);
    expect(calls).toBe(2);
    expect(handle.connectionStatus).toBe('unauthorized');
  });
});
