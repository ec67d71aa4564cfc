// JWT bearer tokens: HS256 with JWT_SECRET or RS256 with JWT_PUBLIC_KEY, the algorithm
// pinned so a token cannot choose its own (no `alg: none`, no HS256-signed-with-the-public-key).
import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import { textProblem } from '../schemas/jsonChecks.js';
import { SyncKairosError } from '../types/errors.js';

export const ROLES = ['admin', 'participant', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: the token's claims, checked. */
export interface Principal {
  /** The user; for a participant, its participant_id. */
  subject: string;
  role: Role;
  /** Set: the token works for this session alone. */
  sessionId: string | null;
  /** When the token stops working (from its exp, epoch ms); null: it has no exp. */
  expiresAtMs: number | null;
}

/** Everyone is an admin when auth is off (no secret or key configured). */
export const ANONYMOUS_ADMIN: Principal = {
  subject: 'anonymous',
  role: 'admin',
  sessionId: null,
  expiresAtMs: null,
};

export const TOKEN_EXPIRED = 'The token has expired';

export interface TokenVerifier {
  readonly enabled: boolean;
  /** Resolves the token's principal, or rejects with 401 UNAUTHORIZED saying why. */
  verify(token: string | null): Promise<Principal>;
}

/** How many verified tokens a verifier remembers; the oldest goes first. */
const CACHED_TOKENS = 10_000;

export function createTokenVerifier(options: {
  secret: string | null;
  publicKey: string | null;
  /** Set: a token's `iss` must be this (JWT_ISSUER). */
  issuer?: string | null;
  /** Set: a token's `aud` must be or include this (JWT_AUDIENCE). */
  audience?: string | null;
  /** For tests: the clock that `exp` is checked against. */
  nowMs?: () => number;
}): TokenVerifier {
  const key: Promise<webcrypto.CryptoKey> | KeyObject | null =
    options.publicKey !== null
      ? createPublicKey(options.publicKey)
      : options.secret !== null
        ? importHmacKey(options.secret)
        : null;
  if (key === null) {
    return { enabled: false, verify: async () => ANONYMOUS_ADMIN };
  }
  const algorithm = options.publicKey !== null ? 'RS256' : 'HS256';
  const nowMs = options.nowMs ?? Date.now;
  // A client sends the same token on every request: once verified, it is a lookup until its exp.
  const verified = new Map<string, Principal>();
  return {
    enabled: true,
    async verify(token) {
      if (token === null || token === '') throw unauthorized('A bearer token is required');
      const now = nowMs();
      const cached = verified.get(token);
      if (cached !== undefined) {
        if (now < (cached.expiresAtMs ?? Infinity)) return cached;
        verified.delete(token);
      }
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, await key, {
          algorithms: [algorithm],
          currentDate: new Date(now),
          ...(options.issuer ? { issuer: options.issuer } : {}),
          ...(options.audience ? { audience: options.audience } : {}),
        }));
      } catch (err) {
        throw unauthorized(describeJwtError(err), err);
      }
      const principal = Object.freeze(principalOf(payload));
      if (verified.size >= CACHED_TOKENS) verified.delete(verified.keys().next().value!);
      verified.set(token, principal);
      return principal;
    },
  };
}

// jose 6 uses a CryptoKey as it is, but exports a secret KeyObject (or takes bytes) and imports it
// again on every call; so the HMAC key is imported once. (A public KeyObject jose caches itself.)
function importHmacKey(secret: string): Promise<webcrypto.CryptoKey> {
  const imported = webcrypto.subtle.importKey(
    'raw',
    Buffer.from(secret, 'utf8'),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  // An unusable secret (empty) fails each verify with a 401, as before, rather than the process.
  imported.catch(() => undefined);
  return imported;
}

function principalOf(payload: Record<string, unknown>): Principal {
  const { sub, role, session_id: sessionId } = payload;
  if (typeof sub !== 'string' || sub === '') throw unauthorized('The token has no subject (sub)');
  // The subject is the actor of every change this token makes, and goes into the audit trail as text.
  const subjectProblem = textProblem(sub);
  if (subjectProblem !== null) throw unauthorized(`The token's subject (sub) ${subjectProblem}`);
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
    throw unauthorized(`The token's role must be one of ${ROLES.join(', ')}`);
  }
  if (sessionId !== undefined && typeof sessionId !== 'string') {
    throw unauthorized("The token's session_id must be a string");
  }
  // A participant is known by its sub alone, and the same participant_id may play in many
  // sessions: without a session_id its token would move whichever of them it is to move in.
  if (role === 'participant' && sessionId === undefined) {
    throw unauthorized('A participant token must name its session (session_id)');
  }
  // jose refuses a token once the whole seconds of now reach exp, i.e. from exp * 1000 ms on.
  const expiresAtMs = typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  return { subject: sub, role: role as Role, sessionId: sessionId ?? null, expiresAtMs };
}

function describeJwtError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return TOKEN_EXPIRED;
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return 'The token is signed with an algorithm this service does not accept';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is invalid';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `The token is not valid: ${err.message}`;
  return 'The token is malformed or invalid';
}

export function unauthorized(message: string, cause?: unknown): SyncKairosError {
  return new SyncKairosError('UNAUTHORIZED', message, undefined, { cause });
}

export function forbidden(message: string, details?: unknown): SyncKairosError {
  return new SyncKairosError('FORBIDDEN', message, details);
}

/** `Authorization: Bearer x` → x; a `token` query parameter is the fallback for browsers' WebSockets. */
export function tokenFrom(authorization: string | undefined, queryToken: string | null): string | null {
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    return match?.[1] ?? '';
  }
  return queryToken;
}
