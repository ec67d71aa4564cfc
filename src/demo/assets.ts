// Files the service sends as they are (the demo page's, the SDK's browser build): bytes with a
// content type and a strong ETag, answered 304 when the browser already has them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

export function asset(body: Buffer | Uint8Array | string, contentType: string): Asset {
  const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`;
  return { body: bytes, contentType, etag };
}

export function readAsset(dir: string, file: string, contentType: string): Asset {
  return asset(readFileSync(path.join(dir, file)), contentType);
}

/** Sends `file` with its ETag and `cacheControl`, or 304 when the browser's copy is this one. */
export function sendAsset(
  req: FastifyRequest,
  reply: FastifyReply,
  file: Asset,
  cacheControl: string,
): FastifyReply {
  reply.header('cache-control', cacheControl).header('etag', file.etag);
  if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.type(file.contentType).send(file.body);
}
