// The REST API under generated and hostile requests, against whichever state store `setup`
// wires in. Requests are drawn from the OpenAPI document's own operations and schemas, then
// bent: other methods, hostile ids, bodies that are not what the schema says, bad encodings,
// every kind of token. Whatever arrives, the service answers it: no 5xx but the documented
// 503s, every refusal in the one error shape, and a refused request changes no session.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { buildOpenApiDocument } from '../../src/api/openapi.js';
import { createTokenVerifier } from '../../src/auth/tokens.js';
import type { SyncEngine } from '../../src/engine/SyncEngine.js';
import { createLogger } from '../../src/monitoring/logger.js';
import { createMetrics } from '../../src/monitoring/metrics.js';
import { ERROR_STATUS } from '../../src/types/errors.js';
import type { StateStore } from '../../src/types/store.js';
import { arbitraryFor, type JsonSchema } from '../helpers/schemaArbitrary.js';

export interface FuzzSetup {
  engine: SyncEngine;
  store: StateStore;
  cleanup: () => Promise<void>;
}

export interface FuzzOptions {
  /** Generated requests per run; each is one round trip on loopback. */
  numRuns: number;
}

const SECRET = 'fuzz-suite-secret-of-reasonable-length';
const BODY_LIMIT_BYTES = 65_536;
const HOUR_MS = 3_600_000;
const FUZZ_TIME_LIMIT_MS = 30_000;

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

/** node:http, not fetch: fetch refuses some of the requests this suite must send. */
function send(port: number, agent: http.Agent, request: RawRequest): Promise<RawResponse> {
  // Node frames no body of a GET unless told its length; unframed, it would be read as the next request.
  const headers =
    request.body === undefined
      ? request.headers
      : { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, agent, method: request.method, path: request.path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

const DOCUMENTED_5XX_CODES = new Set(['STORE_UNAVAILABLE', 'SHUTTING_DOWN']);

/** The answer's checks that do not depend on the state: status class and error shape. */
function expectSoundAnswer(request: RawRequest, response: RawResponse): void {
  const what = `${request.method} ${request.path} → ${response.status} ${response.text.slice(0, 300)}`;
  if (response.status < 400) return;
  // HEAD answers carry no body; their status is checked above all the same.
  if (request.method === 'HEAD') {
    expect(response.status < 500 || response.status === 503, what).toBe(true);
    return;
  }
  expect(response.contentType, what).toMatch(/^application\/json/);
  const body = JSON.parse(response.text) as { error?: { code?: unknown; message?: unknown } };
  expect(Object.keys(body), what).toEqual(['error']);
  const code = body.error?.code;
  expect(typeof code === 'string' && code in ERROR_STATUS, what).toBe(true);
  expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS], what).toBe(response.status);
  expect(typeof body.error?.message === 'string' && body.error.message.length > 0, what).toBe(true);
  if (response.status >= 500) expect(DOCUMENTED_5XX_CODES.has(code as string), what).toBe(true);
}

/** Session ids a path may name: the fixtures, a missing one, and ids no client should reach. */
const HOSTILE_PATH_IDS = [
  'missing-session',
  '%ZZ',
  '%E9',
  '%',
  '.',
  '..',
  '%2e%2e',
  '%00',
  '%ED%A0%80', // a lone surrogate, UTF-8 encoded
  '__proto__',
  'constructor',
  'a'.repeat(129),
  encodeURIComponent('white space'),
];

/** Metadata nested `depth` objects deep, as JSON text (JSON.stringify itself would overflow). */
function nestedMetadataBody(depth: number): string {
  const chess = JSON.stringify(chessBody({}));
  return `${chess.slice(0, -1)},"metadata":${'{"n":'.repeat(depth)}"leaf"${'}'.repeat(depth)}}`;
}

const chessBody = (extra: Record<string, unknown>) => ({
  sync_mode: 'per_participant',
  participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
  total_time_ms: HOUR_MS,
  ...extra,
});

/** Bodies for the create route that each found a hole once (or would have). */
const HOSTILE_CREATE_BODIES: string[] = [
  nestedMetadataBody(5_000),
  nestedMetadataBody(33),
  JSON.stringify(chessBody({ session_id: '.' })),
  JSON.stringify(chessBody({ session_id: '..' })),
  '{"sync_mode":"per_participant","participants":[{"participant_id":"white"}],"metadata":{"__proto__":{"x":1}}}',
  '{"sync_mode":"per_participant","participants":[{"participant_id":"\\ud800"}]}',
  JSON.stringify(chessBody({ metadata: { note: '\ud800' } })),
  JSON.stringify(chessBody({ metadata: { ['\udc00key']: 1 } })),
  JSON.stringify(chessBody({})).replace('3600000', '1e309'),
  JSON.stringify(chessBody({ total_time_ms: '60000' })),
  JSON.stringify(chessBody({ metadata: { nul: 'a\u0000b' } })),
  '{"sync_mode":',
  '',
  'null',
  '[]',
  '"per_participant"',
];

/** The document's operations, with their request body schema when they take one. */
interface Operation {
  method: string;
  pathTemplate: string;
  bodySchema: JsonSchema | null;
}

function documentedOperations(): { operations: Operation[]; components: Record<string, JsonSchema> } {
  const document = buildOpenApiDocument({ bodyLimitBytes: BODY_LIMIT_BYTES, authEnabled: true });
  const components = (document.components as { schemas: Record<string, JsonSchema> }).schemas;
  const operations: Operation[] = [];
  for (const [pathTemplate, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods ?? {})) {
      const content = (operation as { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } })
        .requestBody?.content;
      operations.push({
        method: method.toUpperCase(),
        pathTemplate,
        bodySchema: content?.['application/json']?.schema ?? null,
      });
    }
  }
  return { operations, components };
}

export function apiFuzzSuite(name: string, setup: () => Promise<FuzzSetup>, options: FuzzOptions): void {
  describe(`the API under fuzzed and hostile requests (${name} store)`, () => {
    let built: FuzzSetup;
    let server: http.Server;
    let port: number;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const tokens: Record<string, string> = {};
    const fixtureIds = ['fz-pending', 'fz-running', 'fz-paused', 'fz-completed', 'fz-cycle', 'fz-group'];

    beforeAll(async () => {
      built = await setup();
      const app = createApp({
        engine: built.engine,
        store: built.store,
        logger: createLogger({ logLevel: 'silent', nodeEnv: 'test' }),
        metrics: createMetrics({ defaultMetrics: false }),
        bodyLimitBytes: BODY_LIMIT_BYTES,
        tokenVerifier: createTokenVerifier({ secret: SECRET, publicKey: null }),
      });
      server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;

      const key = new TextEncoder().encode(SECRET);
      const sign = (claims: Record<string, unknown>, secret = key) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(secret);
      tokens.admin = await sign({ sub: 'ops', role: 'admin' });
      tokens.viewer = await sign({ sub: 'tv', role: 'viewer' });
      tokens.white = await sign({ sub: 'white', role: 'participant', session_id: 'fz-running' });
      tokens.whiteUnbound = await sign({ sub: 'white', role: 'participant' });
      tokens.forged = await sign(
        { sub: 'ops', role: 'admin' },
        new TextEncoder().encode('another-secret-entirely'),
      );
      tokens.expired = await new SignJWT({ sub: 'ops', role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
        .sign(key);
      tokens.unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"ops","role":"admin"}').toString('base64url')}.`;

      const asAdmin = { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' };
      const create = async (id: string, body: Record<string, unknown>, ...commands: string[]) => {
        const created = await send(port, agent, {
          method: 'POST',
          path: '/v1/sessions',
          headers: asAdmin,
          body: JSON.stringify({ ...body, session_id: id }),
        });
        expect(created.status, created.text).toBe(201);
        for (const command of commands) {
          const answer = await send(port, agent, {
            method: 'POST',
            path: `/v1/sessions/${id}/${command}`,
            headers: asAdmin,
          });
          expect(answer.status, answer.text).toBe(200);
        }
      };
      await create('fz-pending', chessBody({}));
      await create('fz-running', chessBody({ increment_ms: 1000 }), 'start');
      await create('fz-paused', chessBody({}), 'start', 'pause');
      await create('fz-completed', chessBody({}), 'start', 'complete');
      await create(
        'fz-cycle',
        {
          sync_mode: 'per_cycle',
          participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
          time_per_cycle_ms: HOUR_MS,
        },
        'start',
      );
      await create(
        'fz-group',
        {
          sync_mode: 'per_group',
          participants: [
            { participant_id: 'a1', group_id: 'red' },
            { participant_id: 'b1', group_id: 'blue' },
          ],
          total_time_ms: HOUR_MS,
        },
        'start',
      );
    });

    afterAll(async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await built.cleanup();
    });

    /** The stored state of every session the request could touch, as the store holds it. */
    async function snapshot(ids: readonly string[]): Promise<string> {
      const states = await Promise.all(ids.map((id) => built.store.get(id)));
      return JSON.stringify(states);
    }

    /** Sends one request and checks the answer; a refusal must leave every session as it was. */
    async function check(request: RawRequest, touchedIds: readonly string[]): Promise<RawResponse> {
      const ids = [...fixtureIds, ...touchedIds];
      const before = await snapshot(ids);
      const response = await send(port, agent, request);
      expectSoundAnswer(request, response);
      if (response.status >= 400) {
        expect(
          await snapshot(ids),
          `${request.method} ${request.path} → ${response.status} changed a session`,
        ).toBe(before);
      }
      return response;
    }

    it('answers every hostile request of the hardening findings with a documented refusal, changing nothing', async () => {
      const admin = { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' };
      for (const body of HOSTILE_CREATE_BODIES) {
        const response = await check({ method: 'POST', path: '/v1/sessions', headers: admin, body }, [
          '.',
          '..',
        ]);
        expect(response.status, `${body.slice(0, 80)} → ${response.text.slice(0, 200)}`).toBe(400);
      }
      for (const id of HOSTILE_PATH_IDS) {
        for (const path of [`/v1/sessions/${id}`, `/v1/sessions/${id}/switch`, `/s/${id}`]) {
          const method = path.endsWith('switch') ? 'POST' : 'GET';
          const response = await check({ method, path, headers: admin }, []);
          // The demo page serves any well-formed id (the page itself asks for the session).
          if (!path.startsWith('/s/')) expect(response.status, `${method} ${path}`).not.toBe(200);
        }
      }
      for (const encoding of ['gzip', 'deflate', 'br']) {
        const response = await check(
          {
            method: 'POST',
            path: '/v1/sessions/fz-running/switch',
            headers: { ...admin, 'content-encoding': encoding },
            body: Buffer.from('this is not compressed'),
          },
          [],
        );
        expect(response.status, `content-encoding ${encoding}`).toBe(400);
      }
      // A participant keeps to its own turn: no self-switch, no choosing who moves next.
      const asWhite = { authorization: `Bearer ${tokens.white}`, 'content-type': 'application/json' };
      for (const next of ['white', 'black']) {
        const response = await check(
          {
            method: 'POST',
            path: '/v1/sessions/fz-running/switch',
            headers: asWhite,
            body: JSON.stringify({ next_participant_id: next }),
          },
          [],
        );
        expect(response.status, `participant choosing ${next}`).toBeGreaterThanOrEqual(400);
      }
      const unbound = await check(
        {
          method: 'POST',
          path: '/v1/sessions/fz-running/switch',
          headers: { authorization: `Bearer ${tokens.whiteUnbound}` },
        },
        [],
      );
      expect(unbound.status, 'a participant token that names no session').toBe(401);
      const preflight = await check(
        { method: 'OPTIONS', path: '/v1/sessions/fz-running/switch', headers: {} },
        [],
      );
      expect(preflight.status).toBeGreaterThanOrEqual(400);
    });

    it(
      'answers generated requests for every documented operation soundly, and refusals change nothing',
      async () => {
        const { operations, components } = documentedOperations();
        const idArbitrary = fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...fixtureIds) },
          { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_PATH_IDS) },
          { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,12}$/) },
        );
        const tokenArbitrary = fc.oneof(
          { weight: 6, arbitrary: fc.constant('admin') },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              'viewer',
              'white',
              'whiteUnbound',
              'forged',
              'expired',
              'unsigned',
              'none',
            ),
          },
        );
        const requestArbitrary = fc
          .record({
            operation: fc.constantFrom(...operations),
            otherMethod: fc.option(
              fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
              { freq: 6 },
            ),
            id: idArbitrary,
            token: tokenArbitrary,
            contentType: fc.constantFrom(
              'application/json',
              'application/json',
              'application/json',
              'text/plain',
              'none',
            ),
            query: fc.option(
              fc.dictionary(
                fc.constantFrom('expected_version', 'limit', 'cursor', 'token'),
                fc.string({ maxLength: 12 }),
              ),
              { freq: 3 },
            ),
            bodyChoice: fc.nat(9),
            anyJson: fc.jsonValue({ maxDepth: 4 }),
            hostileBody: fc.constantFrom(...HOSTILE_CREATE_BODIES),
          })
          .chain((drawn) =>
            (drawn.operation.bodySchema
              ? arbitraryFor(drawn.operation.bodySchema, components)
              : fc.constant(undefined)
            ).map((schemaBody) => ({ ...drawn, schemaBody })),
          );

        await fc.assert(
          fc.asyncProperty(requestArbitrary, async (drawn) => {
            const method = drawn.otherMethod ?? drawn.operation.method;
            let path = drawn.operation.pathTemplate.replace(/\{[^}]+\}/g, drawn.id);
            if (drawn.query) path += `?${new URLSearchParams(drawn.query).toString()}`;
            let body: string | undefined;
            if (drawn.bodyChoice < 6)
              body = drawn.schemaBody === undefined ? undefined : JSON.stringify(drawn.schemaBody);
            else if (drawn.bodyChoice < 8) body = JSON.stringify(drawn.anyJson);
            else body = drawn.hostileBody;
            const headers: Record<string, string> = {};
            if (drawn.token !== 'none') headers.authorization = `Bearer ${tokens[drawn.token]}`;
            if (body !== undefined && drawn.contentType !== 'none')
              headers['content-type'] = drawn.contentType;
            const createdId = (drawn.schemaBody as { session_id?: unknown } | undefined)?.session_id;
            const touched = [drawn.id, ...(typeof createdId === 'string' ? [createdId] : [])];
            await check({ method, path, headers, body }, touched);
          }),
          // Bounded in time as well as count: on a loaded machine the run stops early rather than
          // stretch the suite (an interrupted run that found nothing passes).
          { numRuns: options.numRuns, endOnFailure: true, interruptAfterTimeLimit: FUZZ_TIME_LIMIT_MS },
        );
      },
      FUZZ_TIME_LIMIT_MS + 30_000,
    );
  });
}
