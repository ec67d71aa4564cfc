// Where a session lives in the page's URLs: /s/<id> (the link we share) or /?session=<id>.

/** Ids as the API accepts them (1–128 of A–Z a–z 0–9 _ . : -). */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The session this URL opens: null for the home page, 'invalid' for a malformed id. */
export function sessionIdFromUrl(url: URL): string | null | { invalid: string } {
  const fromPath = /^\/s\/([^/]+)\/?$/.exec(url.pathname)?.[1];
  const raw = fromPath !== undefined ? safeDecode(fromPath) : url.searchParams.get('session');
  if (raw === null || raw === '') return null;
  return SESSION_ID_PATTERN.test(raw) ? raw : { invalid: raw };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The link to share for a session. */
export function shareUrl(origin: string, sessionId: string): string {
  return `${origin}/s/${encodeURIComponent(sessionId)}`;
}

/** A JWT for a server with auth on, given as `#token=…` (a fragment never reaches a server log). */
export function tokenFromUrl(url: URL): string | undefined {
  const token = new URLSearchParams(url.hash.replace(/^#/, '')).get('token');
  return token === null || token === '' ? undefined : token;
}

const ID_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A short id that is easy to read aloud: no 0/o, 1/l/i. */
export function newSessionId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return `${prefix}-${id}`;
}
