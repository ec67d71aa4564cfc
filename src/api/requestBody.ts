// Request bodies: JSON only, in UTF-8, decoded from gzip, deflate or br when the client says so,
// strict (an object or an array at the top), within the body limit. Any other body is refused
// with 400 rather than silently ignored (which would run a command without the caller's
// expected_version). 400, not 415: the error codes have no 415.
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler, preParsingHookHandler } from 'fastify';
import { SyncKairosError } from '../types/errors.js';

function notJson(req: FastifyRequest): SyncKairosError {
  return new SyncKairosError(
    'VALIDATION_ERROR',
    'The request body must be JSON (Content-Type: application/json)',
    {
      issues: [{ path: '', message: `content type '${req.headers['content-type'] ?? 'none'}' is not JSON` }],
    },
  );
}

const notUtf8 = (): SyncKairosError =>
  new SyncKairosError('VALIDATION_ERROR', 'The request body must be UTF-8 encoded JSON');

const invalidJson = (): SyncKairosError =>
  new SyncKairosError('VALIDATION_ERROR', 'The request body is not valid JSON', {
    issues: [{ path: '', message: 'is not valid JSON' }],
  });

/** `application/json`, any case, with or without parameters. */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

/** Any request with a body (of any method) must declare it JSON. */
export const jsonBodiesOnly: onRequestHookHandler = (req, _reply, done) => {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  done(hasBody && !isJson(req.headers['content-type']) ? notJson(req) : undefined);
};

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** Requests whose body is being decoded: a stream error there is the client's data, not ours. */
const decoding = new WeakSet<FastifyRequest>();

export function isDecodingBody(req: FastifyRequest): boolean {
  return decoding.has(req);
}

/** Decodes the body as its Content-Encoding says; the limit applies to the decoded bytes. */
const decodeContentEncoding: preParsingHookHandler = (req, _reply, payload, done) => {
  const encoding = req.headers['content-encoding']?.trim().toLowerCase() ?? 'identity';
  if (encoding === 'identity') {
    done(null, payload);
    return;
  }
  const decoder = DECODERS[encoding];
  if (decoder === undefined) {
    done(notUtf8());
    return;
  }
  decoding.add(req);
  const decoded = payload.pipe(decoder()) as unknown as Readable & { receivedEncodedLength: number };
  // Fastify compares what arrived, not what it decodes to, with Content-Length.
  decoded.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => (decoded.receivedEncodedLength += chunk.length));
  payload.on('error', (err) => decoded.destroy(err));
  done(null, decoded);
};

/** JSON.parse with body-parser's strict rule; an empty body is an empty object. */
function parseJson(req: FastifyRequest, body: string): unknown {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) throw notUtf8();
  const first = /^[ \t\n\r]*([^ \t\n\r])/.exec(body)?.[1];
  if (first === undefined) return {};
  if (first !== '{' && first !== '[') throw invalidJson();
  try {
    return JSON.parse(body);
  } catch {
    throw invalidJson();
  }
}

/** The body rules on `app`: JSON parsed by JSON.parse (no prototype filtering: schemas name such keys). */
export function jsonBodies(app: FastifyInstance): void {
  app.addHook('onRequest', jsonBodiesOnly);
  app.addHook('preParsing', decodeContentEncoding);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    try {
      done(null, parseJson(req, body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
