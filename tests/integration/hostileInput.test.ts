// Input crafted to break the service rather than use it: text the audit database cannot store,
// undecodable URLs and bodies, metadata nested past the stack, ids no URL can reach, keys that
// vanish on assignment. Each is a 400 VALIDATION_ERROR in the one error shape, logged below
// error level without a stack, and changes nothing: no session, no audit record.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { MAX_METADATA_DEPTH } from '../../src/schemas/requests.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import { systemClock } from '../../src/state/SystemClock.js';
import type { SessionView } from '../../src/types/session.js';
import { captureLogs } from '../helpers/logCapture.js';

/** Room for the 100,000-deep body (200 KB) under the limit, so the depth is what gets refused. */
const BODY_LIMIT_BYTES = 1024 * 1024;

interface Reply {
  status: number;
  body: unknown;
}

interface ErrorBody {
  error: { code: string; message: string; details?: { issues?: Array<{ path: string; message: string }> } };
}

let server: http.Server;
let baseUrl: string;
let store: MemoryStateStore;
/** Every audit record the state store appended: a refused request appends none. */
const audited: string[] = [];
const logs = captureLogs('debug');

beforeAll(async () => {
  store = new MemoryStateStore({ appendAudit: (records) => audited.push(...records) });
  const app = createApp({
    engine: new SyncEngine({ store, clock: systemClock }),
    store,
    logger: logs.logger,
    metrics: createMetrics({ defaultMetrics: false }),
    bodyLimitBytes: BODY_LIMIT_BYTES,
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await store?.close();
});

beforeEach(() => {
  audited.length = 0;
  logs.lines.length = 0;
});

afterEach(() => {
  // Client mistakes are not incidents: nothing at error level, no stack in any log line.
  expect(logs.lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
  expect(logs.lines.filter((line) => JSON.stringify(line).includes('"stack"'))).toEqual([]);
});

/** One request with the path and body bytes exactly as given (no client normalises them). */
function send(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${baseUrl}${path}`,
      {
        method,
        agent: false,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text;
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** JSON.stringify writes an unpaired surrogate as its escape (`"\ud800"`), as a hostile client would. */
const createBody = (fields: Record<string, unknown>): string =>
  JSON.stringify({
    sync_mode: 'per_participant',
    participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
    total_time_ms: 60_000,
    ...fields,
  });

/** 400 VALIDATION_ERROR in the one error shape; returns its issue paths. */
function expectValidationError(reply: Reply): string[] {
  expect(reply.status, JSON.stringify(reply.body)).toBe(400);
  const { error } = reply.body as ErrorBody;
  expect(Object.keys(reply.body as object)).toEqual(['error']);
  expect(error.code).toBe('VALIDATION_ERROR');
  expect(error.message.length).toBeGreaterThan(0);
  return (error.details?.issues ?? []).map((issue) => issue.path);
}

async function expectNoSession(sessionId: string): Promise<void> {
  expect((await send('GET', `/v1/sessions/${encodeURIComponent(sessionId)}`)).status).toBe(404);
}

async function createSession(fields: Record<string, unknown> = {}): Promise<SessionView> {
  const reply = await send('POST', '/v1/sessions', createBody(fields));
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body as SessionView;
}

describe('4: text that is not well-formed Unicode', () => {
  it.each([
    ['a metadata value', { note: 'x\ud800' }, ['metadata.note']],
    ['a lone low surrogate', { note: '\udc00x' }, ['metadata.note']],
    ['a metadata key', { ['k\ud800']: 1 }, ['metadata']],
    ['a value deep in metadata', { a: [{ b: ['ok', '\ud800'] }] }, ['metadata.a.0.b.1']],
  ])('in %s is refused naming its path; no session, no audit record', async (_name, metadata, paths) => {
    const reply = await send('POST', '/v1/sessions', createBody({ session_id: 'surrogate', metadata }));
    expect(expectValidationError(reply)).toEqual(paths);
    expect((reply.body as ErrorBody).error.details?.issues?.[0]?.message).toMatch(/well-formed Unicode/);
    await expectNoSession('surrogate');
    expect(audited).toEqual([]);
  });

  it('in any id or field name of a create or a command is refused, and the session stays as it was', async () => {
    for (const fields of [
      { session_id: 'id\ud800' },
      { participants: [{ participant_id: 'a\ud800' }] },
      { ['x\udfff']: 1 },
    ]) {
      expectValidationError(await send('POST', '/v1/sessions', createBody(fields)));
    }
    const session = await createSession();
    audited.length = 0;
    const paths = expectValidationError(
      await send('POST', `/v1/sessions/${session.session_id}/switch`, '{"next_participant_id":"b\\ud800"}'),
    );
    expect(paths).toContain('next_participant_id');
    expect((await send('GET', `/v1/sessions/${session.session_id}`)).body).toMatchObject({ version: 1 });
    expect(audited).toEqual([]);
  });

  it('well-formed text outside the BMP (a surrogate pair) is kept exactly', async () => {
    const metadata = { note: 'clock \u{1F570}\u{FE0F}', ['\u{1D11E}']: 'clef' };
    expect((await createSession({ metadata })).metadata).toEqual(metadata);
  });
});

describe('5: a malformed URL or body is a client error, not a 500', () => {
  it.each(['/v1/sessions/%ZZ', '/v1/sessions/%E9', '/s/%E9', '/v1/sessions/%ED%A0%80/events'])(
    'GET %s (not percent-encoded UTF-8) is 400 naming the url',
    async (path) => {
      expect(expectValidationError(await send('GET', path))).toEqual(['url']);
    },
  );

  it('a command to a path that does not percent-decode is 400 and changes nothing', async () => {
    expect(expectValidationError(await send('POST', '/v1/sessions/%E9/start', '{}'))).toEqual(['url']);
    expect(audited).toEqual([]);
  });

  it.each(['gzip', 'deflate', 'br'])(
    'a body that does not decode as its Content-Encoding %s is 400; encoded properly it is taken',
    async (encoding) => {
      const sessionId = `encoded-${encoding}`;
      const plain = createBody({ session_id: sessionId });
      const paths = expectValidationError(
        await send('POST', '/v1/sessions', plain, { 'content-encoding': encoding }),
      );
      expect(paths).toEqual(['']);
      await expectNoSession(sessionId);
      expect(audited).toEqual([]);

      const compress = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync }[encoding]!;
      const good = await send('POST', '/v1/sessions', compress(Buffer.from(plain)), {
        'content-encoding': encoding,
      });
      expect(good.status).toBe(201);
    },
  );

  /** `levels` objects nested in one another: `{"a":{"a":…{}}}`, as text (no stringify recursion). */
  const nested = (levels: number): string => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);

  it(`metadata may nest ${MAX_METADATA_DEPTH} levels deep; one more, or 5,000, is refused naming metadata`, async () => {
    const atLimit = await send(
      'POST',
      '/v1/sessions',
      createBody({ session_id: 'deep-ok' }).replace(/}$/, `,"metadata":${nested(MAX_METADATA_DEPTH)}}`),
    );
    expect(atLimit.status, JSON.stringify(atLimit.body)).toBe(201);

    for (const levels of [MAX_METADATA_DEPTH + 1, 5_000]) {
      const body = createBody({ session_id: 'too-deep' }).replace(/}$/, `,"metadata":${nested(levels)}}`);
      const reply = await send('POST', '/v1/sessions', body);
      expect(expectValidationError(reply)).toContain('metadata');
      expect((reply.body as ErrorBody).error.message).toContain(`${MAX_METADATA_DEPTH} levels`);
    }
    await expectNoSession('too-deep');
  });

  it('a body nested 100,000 deep, within the body limit, is refused without overflowing the stack', async () => {
    for (const field of ['metadata', 'participants', 'unknown_field']) {
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      const body = createBody({ session_id: 'very-deep' }).replace(/}$/, `,"${field}":{"x":${deep}}}`);
      expect(body.length).toBeLessThan(BODY_LIMIT_BYTES);
      const paths = expectValidationError(await send('POST', '/v1/sessions', body));
      expect(paths.length).toBeGreaterThan(0);
    }
    await expectNoSession('very-deep');
    expect(audited).toEqual([]);
  });
});

describe('6: ids made only of dots', () => {
  it.each([
    ['session_id', '.', (id: string) => ({ session_id: id })],
    ['session_id', '..', (id: string) => ({ session_id: id })],
    ['session_id', '...', (id: string) => ({ session_id: id })],
    ['participants.0.participant_id', '..', (id: string) => ({ participants: [{ participant_id: id }] })],
    [
      'participants.0.group_id',
      '.',
      (id: string) => ({ sync_mode: 'per_group', participants: [{ participant_id: 'a', group_id: id }] }),
    ],
  ])('are refused as %s (%s): no URL could reach them', async (path, id, fields) => {
    expect(expectValidationError(await send('POST', '/v1/sessions', createBody(fields(id))))).toEqual([path]);
    expect(audited).toEqual([]);
  });

  it('dots among other characters are ids like any other', async () => {
    for (const sessionId of ['.a', 'a..b', 'v1.2.']) {
      const created = await createSession({ session_id: sessionId });
      expect((await send('GET', `/v1/sessions/${created.session_id}`)).status).toBe(200);
    }
  });
});

describe('7: a __proto__ key in metadata', () => {
  it.each([
    ['at the top', '{"__proto__":{"x":1},"kept":true}', 'metadata.__proto__'],
    ['nested', '{"a":[{"__proto__":"x"}]}', 'metadata.a.0.__proto__'],
  ])('%s is refused naming its path, never silently dropped', async (_name, metadataJson, path) => {
    const body = createBody({ session_id: 'proto' }).replace(/}$/, `,"metadata":${metadataJson}}`);
    const reply = await send('POST', '/v1/sessions', body);
    expect(expectValidationError(reply)).toEqual([path]);
    expect((reply.body as ErrorBody).error.message).toContain('reserved key');
    await expectNoSession('proto');
    expect(audited).toEqual([]);
  });

  it('other keys an object has by inheritance are ordinary keys, kept as sent', async () => {
    const metadata = { constructor: 1, prototype: { toString: 'x' }, hasOwnProperty: null };
    expect((await createSession({ metadata })).metadata).toEqual(metadata);
  });
});
