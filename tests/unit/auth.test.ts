import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  checkAction,
  checkDeviceAction,
  checkWebhookAdmin,
  commandGuard,
} from '../../src/auth/permissions.js';
import { ANONYMOUS_ADMIN, createTokenVerifier, tokenFrom, type Principal } from '../../src/auth/tokens.js';
import type { SyncKairosError } from '../../src/types/errors.js';
import { sessionStateFixture } from '../helpers/fixtures.js';

const SECRET = 'a-test-secret-of-reasonable-length';
const hs256 = createTokenVerifier({ secret: SECRET, publicKey: null });

function sign(claims: Record<string, unknown>, options: { expiresIn?: string; secret?: string } = {}) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (options.expiresIn) jwt.setExpirationTime(options.expiresIn);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

async function rejection(promise: Promise<unknown>): Promise<SyncKairosError> {
  try {
    await promise;
  } catch (err) {
    return err as SyncKairosError;
  }
  throw new Error('expected a rejection');
}

describe('token verification', () => {
  it('accepts a valid token and reads sub, role, session_id and exp', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = await sign({ sub: 'white', role: 'participant', session_id: 'game-1', exp });
    expect(await hs256.verify(token)).toEqual({
      subject: 'white',
      role: 'participant',
      sessionId: 'game-1',
      expiresAtMs: exp * 1000,
    });
    // A token without exp is allowed, and never expires.
    expect(await hs256.verify(await sign({ sub: 'ops', role: 'admin' }))).toMatchObject({
      expiresAtMs: null,
    });
  });

  it.each([
    ['no token', async () => null, 'required'],
    [
      'a bad signature',
      () => sign({ sub: 'x', role: 'admin' }, { secret: 'another-secret-entirely' }),
      'signature',
    ],
    ['an expired token', () => sign({ sub: 'x', role: 'admin' }, { expiresIn: '-1s' }), 'expired'],
    ['an unknown role', () => sign({ sub: 'x', role: 'root' }), 'role'],
    ['no subject', () => sign({ role: 'admin' }), 'subject'],
    [
      'a participant token that names no session',
      () => sign({ sub: 'white', role: 'participant' }),
      'must name its session (session_id)',
    ],
    // The subject is the actor the audit trail stores as text.
    ['a subject with an unpaired surrogate', () => sign({ sub: 'x\ud800', role: 'admin' }), 'well-formed'],
    ['a subject with a NUL character', () => sign({ sub: 'x\u0000', role: 'admin' }), 'NUL'],
    ['garbage', async () => 'not.a.jwt', 'malformed'],
  ])('refuses %s with 401', async (_name, token, why) => {
    const err = await rejection(hs256.verify(await token()));
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(err.message).toContain(why);
  });

  it('admin and viewer tokens may leave session_id out: they then work for every session', async () => {
    expect(await hs256.verify(await sign({ sub: 'ops', role: 'admin' }))).toMatchObject({ sessionId: null });
    expect(await hs256.verify(await sign({ sub: 'fan', role: 'viewer' }))).toMatchObject({ sessionId: null });
  });

  it('with an issuer and an audience configured, a token must carry both', async () => {
    const strict = createTokenVerifier({
      secret: SECRET,
      publicKey: null,
      issuer: 'https://auth.example.com/',
      audience: 'synckairos',
    });
    const claims = { sub: 'ops', role: 'admin' };
    const right = { iss: 'https://auth.example.com/', aud: ['billing', 'synckairos'] };
    expect(await strict.verify(await sign({ ...claims, ...right }))).toMatchObject({ subject: 'ops' });
    for (const [wrong, why] of [
      [{ ...right, iss: 'https://evil.example.com/' }, 'unexpected "iss"'],
      [{ ...right, aud: 'another-service' }, 'unexpected "aud"'],
      [{ aud: right.aud }, 'missing required "iss"'],
      [{ iss: right.iss }, 'missing required "aud"'],
    ] as const) {
      const err = await rejection(strict.verify(await sign({ ...claims, ...wrong })));
      expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
      expect(err.message).toContain(why);
    }
    // Without them configured, iss and aud are not checked.
    expect(await hs256.verify(await sign({ ...claims, iss: 'anyone', aud: 'anything' }))).toMatchObject({
      subject: 'ops',
    });
  });

  it('refuses alg none', async () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'x', role: 'admin' })}.`;
    expect(await rejection(hs256.verify(unsigned))).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('with RS256 pinned, refuses an HS256 token signed with the public key as its secret', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rs256 = createTokenVerifier({ secret: null, publicKey: pem });
    const good = await new SignJWT({ sub: 'ops', role: 'admin' })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(privateKey);
    expect(await rs256.verify(good)).toMatchObject({ subject: 'ops', role: 'admin' });
    const confused = await sign({ sub: 'ops', role: 'admin' }, { secret: pem });
    expect(await rejection(rs256.verify(confused))).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('without a secret or key, auth is off and everyone is an admin', async () => {
    const off = createTokenVerifier({ secret: null, publicKey: null });
    expect(off.enabled).toBe(false);
    expect(await off.verify(null)).toEqual(ANONYMOUS_ADMIN);
  });

  it('refuses a token it has verified before once the clock reaches its exp', async () => {
    let nowMs = Date.now();
    const verifier = createTokenVerifier({ secret: SECRET, publicKey: null, nowMs: () => nowMs });
    const expSeconds = Math.floor(nowMs / 1000) + 60;
    const token = await sign({ sub: 'white', role: 'participant', session_id: 'game-1', exp: expSeconds });
    expect(await verifier.verify(token)).toMatchObject({ subject: 'white' });
    nowMs = expSeconds * 1000 - 1;
    expect(await verifier.verify(token)).toMatchObject({ subject: 'white' });
    nowMs = expSeconds * 1000;
    expect((await rejection(verifier.verify(token))).message).toContain('expired');
  });

  it('does not remember a refusal: a token refused before its nbf is accepted after it', async () => {
    let nowMs = Date.now();
    const verifier = createTokenVerifier({ secret: SECRET, publicKey: null, nowMs: () => nowMs });
    const token = await sign({ sub: 'ops', role: 'admin', nbf: Math.floor(nowMs / 1000) + 30 });
    expect(await rejection(verifier.verify(token))).toMatchObject({ code: 'UNAUTHORIZED' });
    nowMs += 31_000;
    expect(await verifier.verify(token)).toMatchObject({ subject: 'ops', role: 'admin' });
  });

  it('reads a bearer header, or the token query parameter', () => {
    expect(tokenFrom('Bearer abc', null)).toBe('abc');
    expect(tokenFrom('Basic abc', null)).toBe('');
    expect(tokenFrom(undefined, 'q')).toBe('q');
  });
});

describe('permissions', () => {
  const admin: Principal = { subject: 'ops', role: 'admin', sessionId: null, expiresAtMs: null };
  const viewer: Principal = { subject: 'fan', role: 'viewer', sessionId: null, expiresAtMs: null };
  const white: Principal = { subject: 'white', role: 'participant', sessionId: 'game-1', expiresAtMs: null };
  const code = (fn: () => void) => {
    try {
      fn();
      return 'allowed';
    } catch (err) {
      return (err as SyncKairosError).code;
    }
  };

  it('admins do anything; viewers only read; participants read and switch', () => {
    expect(code(() => checkAction(admin, 'create', null))).toBe('allowed');
    expect(code(() => checkAction(viewer, 'read', 'game-1'))).toBe('allowed');
    expect(code(() => checkAction(viewer, 'switch', 'game-1'))).toBe('FORBIDDEN');
    expect(code(() => checkAction(white, 'switch', 'game-1'))).toBe('allowed');
    expect(code(() => checkAction(white, 'pause', 'game-1'))).toBe('FORBIDDEN');
    expect(code(() => checkAction(white, 'create', null))).toBe('FORBIDDEN');
  });

  it('a token for one session does not work for another', () => {
    expect(code(() => checkAction(white, 'read', 'game-2'))).toBe('FORBIDDEN');
    expect(code(() => checkAction({ ...admin, sessionId: 'game-1' }, 'switch', 'game-2'))).toBe('FORBIDDEN');
  });

  it('a participant may switch only on its own turn', () => {
    const guard = commandGuard(white, { type: 'switch' })!;
    const state = sessionStateFixture();
    expect(code(() => guard({ ...state, activeParticipantId: 'white' }))).toBe('allowed');
    expect(code(() => guard({ ...state, activeParticipantId: 'black' }))).toBe('FORBIDDEN');
    expect(commandGuard(admin, { type: 'switch' })).toBeUndefined();
  });

  it('a participant passes the turn in order: naming next_participant_id, even itself, is for admins', () => {
    for (const next of ['white', 'black', 'red']) {
      expect(code(() => commandGuard(white, { type: 'switch', nextParticipantId: next }))).toBe('FORBIDDEN');
      expect(code(() => commandGuard(admin, { type: 'switch', nextParticipantId: next }))).toBe('allowed');
    }
  });

  it('a participant ends its cue and the next follows: naming next_cycle_index is for admins', () => {
    for (const index of [0, 1, 999]) {
      expect(code(() => commandGuard(white, { type: 'switch', nextCycleIndex: index }))).toBe('FORBIDDEN');
      expect(code(() => commandGuard(admin, { type: 'switch', nextCycleIndex: index }))).toBe('allowed');
    }
  });

  it('webhooks are for admins whose token is not bound to a session', () => {
    expect(code(() => checkWebhookAdmin(admin))).toBe('allowed');
    expect(code(() => checkWebhookAdmin({ ...admin, sessionId: 'game-1' }))).toBe('FORBIDDEN');
    expect(code(() => checkWebhookAdmin(viewer))).toBe('FORBIDDEN');
    expect(code(() => checkWebhookAdmin(white))).toBe('FORBIDDEN');
  });

  it('push devices: an admin any, a participant its own in its session, a viewer none', () => {
    expect(code(() => checkDeviceAction(admin, 'game-1', 'register', null))).toBe('allowed');
    expect(code(() => checkDeviceAction(white, 'game-1', 'register', 'white'))).toBe('allowed');
    expect(code(() => checkDeviceAction(white, 'game-1', 'register', 'black'))).toBe('FORBIDDEN');
    expect(code(() => checkDeviceAction(white, 'game-1', 'register', null))).toBe('FORBIDDEN');
    expect(code(() => checkDeviceAction(white, 'game-2', 'register', 'white'))).toBe('FORBIDDEN');
    expect(code(() => checkDeviceAction(white, 'game-1', 'unregister'))).toBe('allowed');
    expect(code(() => checkDeviceAction(viewer, 'game-1', 'register', null))).toBe('FORBIDDEN');
    expect(code(() => checkDeviceAction(viewer, 'game-1', 'unregister'))).toBe('FORBIDDEN');
  });
});
