// Auth over the real transports: every refused token or role answers 401/403 in the error
// shape and leaves the session as it was.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { createLogger } from '../../src/monitoring/logger.js';
import type { SessionView, SyncMode } from '../../src/types/session.js';
import { openWebSocketConnections } from '../helpers/http.js';
import { testDataDir } from '../helpers/testDataDir.js';
import { openSocket, upgradeAllAtOnce, UpgradeRefusedError, type TestSocket } from '../helpers/wsClient.js';

const SECRET = 'integration-test-secret-0123456789';
const ISSUER = 'https://auth.example.test/';
const AUDIENCE = 'synckairos-tests';

/**
 * `exp`: a span from now ('1h', '-10s') or epoch seconds; null for a token that never expires.
 * `iss` and `aud` are the server's (JWT_ISSUER, JWT_AUDIENCE) unless the claims say otherwise.
 */
function token(
  claims: Record<string, unknown>,
  options: { exp?: string | number | null; secret?: string } = {},
) {
  const jwt = new SignJWT({ iss: ISSUER, aud: AUDIENCE, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt();
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? '1h');
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

function startAuthServer(env: Record<string, string> = {}): Promise<RunningServer> {
  return startServer(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: SECRET,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      LOG_LEVEL: 'silent',
      DATA_DIR: testDataDir(),
      ...env,
    }),
    { logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }) },
  );
}

describe('auth', () => {
  let server: RunningServer;
  let admin: string;

  async function call(method: string, path: string, bearer: string | null, body?: unknown) {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text) };
  }

  async function newGame(id: string): Promise<SessionView> {
    await call('POST', '/v1/sessions', admin, {
      session_id: id,
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
      total_time_ms: 60_000,
    });
    return (await call('POST', `/v1/sessions/${id}/start`, admin)).body as SessionView;
  }

  beforeAll(async () => {
    server = await startAuthServer();
    admin = await token({ sub: 'ops', role: 'admin' });
  });

  afterAll(async () => {
    await server?.close();
  });

  it.each([
    ['no token', async () => null, 'required'],
    [
      'a bad signature',
      () => token({ sub: 'ops', role: 'admin' }, { secret: 'someone-elses-secret-entirely' }),
      'signature',
    ],
    ['an expired token', () => token({ sub: 'ops', role: 'admin' }, { exp: '-10s' }), 'expired'],
    [
      'another issuer',
      () => token({ sub: 'ops', role: 'admin', iss: 'https://elsewhere.test/' }),
      'unexpected "iss"',
    ],
    ['no issuer', () => token({ sub: 'ops', role: 'admin', iss: undefined }), 'missing required "iss"'],
    ['another audience', () => token({ sub: 'ops', role: 'admin', aud: 'another-service' }), '"aud"'],
    ['no audience', () => token({ sub: 'ops', role: 'admin', aud: undefined }), 'missing required "aud"'],
    [
      'a participant token that names no session',
      () => token({ sub: 'white', role: 'participant' }),
      'must name its session (session_id)',
    ],
    [
      'alg none',
      async () => {
        const part = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${part({ alg: 'none' })}.${part({ sub: 'ops', role: 'admin' })}.`;
      },
      'algorithm',
    ],
  ])(
    '%s: 401 in the error shape over REST and at the WebSocket upgrade, and the session unchanged',
    async (name, make, why) => {
      const game = await newGame(`g-401-${name.replace(/\W/g, '')}`);
      const bearer = await make();
      const refused = await call('POST', `/v1/sessions/${game.session_id}/switch`, bearer);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toMatchObject({
        code: 'UNAUTHORIZED',
        message: expect.stringContaining(why),
      });

      const ws = `${server.url.replace('http', 'ws')}/v1/ws?session_id=${game.session_id}`;
      const upgrade = await openSocket(bearer === null ? ws : `${ws}&token=${bearer}`).catch(
        (err: unknown) => err,
      );
      expect(upgrade).toBeInstanceOf(UpgradeRefusedError);
      expect((upgrade as UpgradeRefusedError).status).toBe(401);
      expect(JSON.parse((upgrade as UpgradeRefusedError).body).error).toMatchObject({
        code: 'UNAUTHORIZED',
        message: expect.stringContaining(why),
      });
      expect((await call('GET', `/v1/sessions/${game.session_id}`, admin)).body.version).toBe(game.version);
    },
  );

  it('the wrong role, another session, and a participant out of turn: 403, nothing changes', async () => {
    const game = await newGame('g-403');
    const viewer = await token({ sub: 'fan', role: 'viewer' });
    const otherSession = await token({ sub: 'white', role: 'participant', session_id: 'another-game' });
    const black = await token({ sub: 'black', role: 'participant', session_id: 'g-403' });

    for (const [bearer, path] of [
      [viewer, '/switch'],
      [otherSession, '/switch'],
      [black, '/switch'],
      [black, '/pause'],
      [black, '/reset'],
      [viewer, '/reset'],
    ] as const) {
      const refused = await call('POST', `/v1/sessions/g-403${path}`, bearer);
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
    }
    expect((await call('POST', '/v1/sessions', viewer, { sync_mode: 'global' })).status).toBe(403);
    // A batch create is a create: neither a participant nor a viewer, nor an admin bound to one session.
    const boundAdmin = await token({ sub: 'td', role: 'admin', session_id: 'g-403' });
    const batch = { sessions: [{ session_id: 'g-403-batch', sync_mode: 'global', participants: [] }] };
    for (const bearer of [black, viewer, boundAdmin]) {
      const refused = await call('POST', '/v1/sessions/batch', bearer, batch);
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
    }
    expect((await call('GET', '/v1/sessions/g-403-batch', admin)).status).toBe(404);
    expect((await call('GET', '/v1/sessions/g-403', viewer)).body.version).toBe(game.version);
  });

  it('only an admin token not bound to a session lists the sessions: 403 for the others, nothing changes', async () => {
    const game = await newGame('g-list');
    const refused = [
      await token({ sub: 'white', role: 'participant', session_id: 'g-list' }),
      await token({ sub: 'fan', role: 'viewer' }),
      await token({ sub: 'arbiter', role: 'admin', session_id: 'g-list' }),
    ];
    for (const bearer of refused) {
      const answer = await call('GET', '/v1/sessions?status=running', bearer);
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('FORBIDDEN');
    }
    expect((await call('GET', '/v1/sessions', null)).status).toBe(401);

    const listed = await call('GET', '/v1/sessions?status=running&limit=500', admin);
    expect(listed.status).toBe(200);
    expect(listed.body.sessions.map((view: SessionView) => view.session_id)).toContain('g-list');
    expect((await call('GET', '/v1/sessions/g-list', admin)).body.version).toBe(game.version);
  });

  it('a participant switches on its own turn, and only then', async () => {
    await newGame('g-turn');
    const white = await token({ sub: 'white', role: 'participant', session_id: 'g-turn' });
    const moved = await call('POST', '/v1/sessions/g-turn/switch', white);
    expect(moved.status).toBe(200);
    expect(moved.body.active_participant_id).toBe('black');
    // Now it is black's turn: white's second switch is refused.
    expect((await call('POST', '/v1/sessions/g-turn/switch', white)).status).toBe(403);
  });

  describe('a participant cannot keep its own turn or pass it over someone', () => {
    const MODES: SyncMode[] = ['per_participant', 'per_cycle', 'per_group', 'global', 'count_up'];
    const TIMING: Record<SyncMode, Record<string, unknown>> = {
      per_participant: { total_time_ms: 60_000, increment_ms: 5_000 },
      per_cycle: { time_per_cycle_ms: 60_000 },
      per_group: { total_time_ms: 60_000, increment_ms: 5_000 },
      global: { total_time_ms: 60_000 },
      count_up: { max_time_ms: 60_000 },
    };

    /** Running, white to move, then black, then red. */
    async function newRound(id: string, mode: SyncMode): Promise<SessionView> {
      const created = await call('POST', '/v1/sessions', admin, {
        session_id: id,
        sync_mode: mode,
        participants: ['white', 'black', 'red'].map((participant_id) => ({
          participant_id,
          ...(mode === 'per_group' ? { group_id: `team-${participant_id}` } : {}),
        })),
        ...TIMING[mode],
      });
      expect(created.status).toBe(201);
      return (await call('POST', `/v1/sessions/${id}/start`, admin)).body as SessionView;
    }

    /** What a refused switch must leave as it was: whose turn, since when, every deadline, turn and lap. */
    async function turnState(id: string) {
      const view = (await call('GET', `/v1/sessions/${id}`, admin)).body as SessionView;
      return {
        version: view.version,
        active: view.active_participant_id,
        cycleStartedAt: view.cycle_started_at,
        deadlineAt: view.deadline_at,
        cycleCounts: view.participants.map((p) => p.cycle_count),
        laps: view.laps,
      };
    }

    function socketFor(id: string, bearer: string) {
      return openSocket(`${server.url.replace('http', 'ws')}/v1/ws?session_id=${id}&token=${bearer}`);
    }

    it.each(MODES)(
      '%s: naming next_participant_id (itself, or someone further on) is 403 for a participant over REST and WebSocket, and nothing changes',
      async (mode) => {
        const id = `g-own-turn-${mode}`;
        await newRound(id, mode);
        const white = await token({ sub: 'white', role: 'participant', session_id: id });
        const before = await turnState(id);

        for (const next of ['white', 'red']) {
          const refused = await call('POST', `/v1/sessions/${id}/switch`, white, {
            next_participant_id: next,
          });
          expect(refused.status).toBe(403);
          expect(refused.body.error).toMatchObject({
            code: 'FORBIDDEN',
            message: expect.stringContaining('next_participant_id'),
          });
        }
        const socket = await socketFor(id, white);
        await socket.next((m) => m.type === 'STATE');
        for (const next of ['white', 'red']) {
          expect(await socket.request({ type: 'SWITCH', next_participant_id: next })).toMatchObject({
            type: 'ERROR',
            error: { code: 'FORBIDDEN' },
          });
        }
        expect(await turnState(id)).toEqual(before);

        // In order, white still passes its turn, to black.
        const moved = await socket.request({ type: 'SWITCH' });
        expect(moved).toMatchObject({ type: 'ACK', state: { active_participant_id: 'black' } });
        await socket.close();
      },
    );

    it('a cue list: naming next_cycle_index is 403 for a participant over REST and WebSocket, and nothing changes; an admin may', async () => {
      const id = 'g-cues';
      const created = await call('POST', '/v1/sessions', admin, {
        session_id: id,
        sync_mode: 'per_cycle',
        participants: ['white', 'black'].map((participant_id) => ({ participant_id })),
        cycles: ['Welcome', 'Talk', 'Close'].map((label) => ({ label, duration_ms: 60_000 })),
      });
      expect(created.status).toBe(201);
      await call('POST', `/v1/sessions/${id}/start`, admin);
      const white = await token({ sub: 'white', role: 'participant', session_id: id });
      const before = await turnState(id);

      const refused = await call('POST', `/v1/sessions/${id}/switch`, white, { next_cycle_index: 2 });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringContaining('next_cycle_index'),
      });
      const socket = await socketFor(id, white);
      await socket.next((m) => m.type === 'STATE');
      expect(await socket.request({ type: 'SWITCH', next_cycle_index: 2 })).toMatchObject({
        type: 'ERROR',
        error: { code: 'FORBIDDEN' },
      });
      expect(await turnState(id)).toEqual(before);
      await socket.close();

      const skipped = await call('POST', `/v1/sessions/${id}/switch`, admin, { next_cycle_index: 2 });
      expect(skipped.body).toMatchObject({ cycle_index: 2, active_participant_id: 'black' });
    });

    it.each(MODES)(
      "%s: an admin's switch to the participant who has the turn is 409 INVALID_STATE over REST and WebSocket, and nothing changes",
      async (mode) => {
        const id = `g-admin-self-${mode}`;
        await newRound(id, mode);
        const before = await turnState(id);

        const refused = await call('POST', `/v1/sessions/${id}/switch`, admin, {
          next_participant_id: 'white',
        });
        expect(refused.status).toBe(409);
        expect(refused.body.error).toMatchObject({
          code: 'INVALID_STATE',
          details: { active_participant_id: 'white' },
        });
        const socket = await socketFor(id, admin);
        await socket.next((m) => m.type === 'STATE');
        expect(await socket.request({ type: 'SWITCH', next_participant_id: 'white' })).toMatchObject({
          type: 'ERROR',
          error: { code: 'INVALID_STATE' },
        });
        expect(await turnState(id)).toEqual(before);

        // An admin, the arbiter, may still hand the turn to anyone else.
        expect(await socket.request({ type: 'SWITCH', next_participant_id: 'red' })).toMatchObject({
          type: 'ACK',
          state: { active_participant_id: 'red' },
        });
        await socket.close();
      },
    );
  });

  it('the WebSocket upgrade needs a token, and a viewer may watch but not switch', async () => {
    await newGame('g-ws');
    const ws = `${server.url.replace('http', 'ws')}/v1/ws?session_id=g-ws`;
    const refused = await openSocket(ws).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(UpgradeRefusedError);
    expect((refused as UpgradeRefusedError).status).toBe(401);

    const viewer = await openSocket(`${ws}&token=${await token({ sub: 'fan', role: 'viewer' })}`);
    const snapshot = await viewer.next((m) => m.type === 'STATE');
    const answer = await viewer.request({ type: 'SWITCH' });
    expect(answer).toMatchObject({ type: 'ERROR', error: { code: 'FORBIDDEN' } });
    expect(await viewer.request({ type: 'RESET' })).toMatchObject({
      type: 'ERROR',
      error: { code: 'FORBIDDEN' },
    });
    expect((await call('GET', '/v1/sessions/g-ws', admin)).body.version).toBe(snapshot.state?.version);
    await viewer.close();

    const wrongSession = await openSocket(
      `${ws}&token=${await token({ sub: 'x', role: 'viewer', session_id: 'nope' })}`,
    ).catch((err: unknown) => err);
    expect((wrongSession as UpgradeRefusedError).status).toBe(403);
  });

  it("a WebSocket ends at its token's exp: ERROR UNAUTHORIZED, close 1008, and nothing after it counts", async () => {
    const game = await newGame('g-exp');
    const ws = `${server.url.replace('http', 'ws')}/v1/ws?session_id=g-exp`;
    // exp is in whole seconds: 1.5 to 2.5 s from now.
    const expSeconds = Math.ceil((Date.now() + 1500) / 1000);
    const expiring = await openSocket(
      `${ws}&token=${await token({ sub: 'ops', role: 'admin' }, { exp: expSeconds })}`,
    );
    const unbounded = await openSocket(
      `${ws}&token=${await token({ sub: 'ops', role: 'admin' }, { exp: null })}`,
    );
    await expiring.next((m) => m.type === 'STATE');
    expect(await expiring.request({ type: 'SWITCH' })).toMatchObject({
      type: 'ACK',
      state: { version: game.version + 1 },
    });

    // A command racing the expiry: sent the moment the ERROR arrives, it reaches a server past exp.
    expiring.ws.on('message', function sendLate(data) {
      if (!String(data).includes('UNAUTHORIZED')) return;
      expiring.ws.off('message', sendLate);
      expiring.send({ type: 'SWITCH', request_id: 'too-late' });
    });
    const closed = await Promise.race([
      expiring.closed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('still open 3 s on')), 3000).unref(),
      ),
    ]);
    expect(Date.now()).toBeGreaterThanOrEqual(expSeconds * 1000);
    expect(Date.now()).toBeLessThan(expSeconds * 1000 + 1000);
    expect(closed).toEqual({ code: 1008, reason: expect.stringContaining('expired') });
    expect(expiring.messages).toContainEqual({
      type: 'ERROR',
      request_id: null,
      error: { code: 'UNAUTHORIZED', message: expect.stringContaining('expired') },
    });
    expect(expiring.messages.filter((m) => m.type === 'ACK')).toHaveLength(1);

    // A token without exp is not cut off, and the late SWITCH changed nothing.
    expect(unbounded.isOpen).toBe(true);
    await unbounded.ping();
    expect((await call('GET', '/v1/sessions/g-exp', admin)).body.version).toBe(game.version + 1);
    await unbounded.close();
  });
});

describe('the WebSocket cap per address with auth on', () => {
  const CAP = 5;
  let server: RunningServer;
  let wsUrl: string;
  const sockets: TestSocket[] = [];

  async function upgradeWith(bearer: string, query = ''): Promise<TestSocket> {
    const socket = await openSocket(`${wsUrl}?token=${bearer}${query}`);
    sockets.push(socket);
    return socket;
  }

  /** Every upgrade carries a token of its own: a verified token is cached, a new one is checked. */
  async function upgrade(): Promise<TestSocket> {
    return upgradeWith(await token({ sub: `viewer-${randomUUID()}`, role: 'viewer' }));
  }

  async function expectRefused(attempt: Promise<unknown>, status: number, code: string): Promise<void> {
    const err = await attempt.then(
      () => new Error('the upgrade was accepted'),
      (refusal: unknown) => refusal,
    );
    expect(err).toBeInstanceOf(UpgradeRefusedError);
    expect((err as UpgradeRefusedError).status).toBe(status);
    expect(JSON.parse((err as UpgradeRefusedError).body)).toMatchObject({
      error: { code, message: expect.any(String) },
    });
  }

  /** The status of an upgrade request without a Sec-WebSocket-Key. */
  function malformedHandshake(bearer: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = http.get(`${server.url}/v1/ws?token=${bearer}`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13' },
      });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('upgrade', () => reject(new Error('upgraded without a key')));
      request.on('error', reject);
    });
  }

  /** The server learns of a close just after the client does. */
  async function allClosed(): Promise<void> {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
    const deadline = Date.now() + 5000;
    while ((await openWebSocketConnections(server.url)) > 0) {
      if (Date.now() > deadline) throw new Error('the server still counts open connections');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  beforeAll(async () => {
    server = await startAuthServer({ WS_MAX_CONNECTIONS_PER_ADDRESS: String(CAP) });
    wsUrl = `${server.url.replace('http', 'ws')}/v1/ws`;
  });

  afterEach(allClosed);

  afterAll(async () => {
    await server?.close();
  });

  it('of 40 upgrades at once with distinct valid tokens, exactly WS_MAX_CONNECTIONS_PER_ADDRESS open; the rest get 429 RATE_LIMITED, and the slots come back', async () => {
    const bearers = await Promise.all(
      Array.from({ length: 40 }, () => token({ sub: `viewer-${randomUUID()}`, role: 'viewer' })),
    );
    const answers = await upgradeAllAtOnce(
      server.url,
      bearers.map((bearer) => `/v1/ws?token=${bearer}`),
    );
    try {
      expect(answers.filter((a) => a.status === 101)).toHaveLength(CAP);
      for (const refused of answers.filter((a) => a.status !== 101)) {
        expect(refused.status).toBe(429);
        expect(JSON.parse(refused.body)).toEqual({
          error: { code: 'RATE_LIMITED', message: `At most ${CAP} connections per client` },
        });
      }
      expect(await openWebSocketConnections(server.url)).toBe(CAP);
    } finally {
      for (const answer of answers) answer.socket.destroy();
    }

    // Neither the refused upgrades nor the closed connections keep a slot.
    await allClosed();
    for (let i = 0; i < CAP; i++) await (await upgrade()).ping();
    await expectRefused(upgrade(), 429, 'RATE_LIMITED');
  }, 60_000);

  it('an upgrade refused for its token (401), its session (403) or its handshake (400) gives its slot back', async () => {
    for (let i = 0; i < CAP - 1; i++) await upgrade();
    // One slot is left: each refusal below holds it while its token is checked, then frees it.
    const sub = () => `viewer-${randomUUID()}`;
    const otherSecret = 'someone-elses-secret-entirely';
    for (let round = 0; round < 2; round++) {
      await expectRefused(
        upgradeWith(await token({ sub: sub(), role: 'viewer' }, { secret: otherSecret })),
        401,
        'UNAUTHORIZED',
      );
      await expectRefused(
        upgradeWith(await token({ sub: sub(), role: 'viewer' }, { exp: '-10s' })),
        401,
        'UNAUTHORIZED',
      );
      await expectRefused(upgradeWith('not-a-jwt'), 401, 'UNAUTHORIZED');
      await expectRefused(
        upgradeWith(
          await token({ sub: sub(), role: 'viewer', session_id: 'another-game' }),
          '&session_id=g-cap',
        ),
        403,
        'FORBIDDEN',
      );
      // A valid token, but a handshake that ws itself refuses (no Sec-WebSocket-Key).
      expect(await malformedHandshake(await token({ sub: sub(), role: 'viewer' }))).toBe(400);
    }
    await (await upgrade()).ping();
    await expectRefused(upgrade(), 429, 'RATE_LIMITED');
  });
});
