// What a client's frame must pass before anything reads it: the connection's rate, the size
// limit, JSON text, a known message type. A frame that fails says why and how to close.
import type { ErrorCode } from '../types/errors.js';
import { isClientMessageType, type ClientMessageType } from './protocol.js';
import type { TokenBucket, WebSocketLimits } from './limits.js';

/** Close codes (RFC 6455): policy violation, message too big. */
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;

export type Inbound =
  | { ok: true; type: ClientMessageType; message: unknown }
  | { ok: false; code: ErrorCode; message: string; closeCode: number };

export function readInbound(
  data: Buffer,
  isBinary: boolean,
  bucket: TokenBucket,
  limits: WebSocketLimits,
): Inbound {
  if (!bucket.take()) {
    return {
      ok: false,
      code: 'RATE_LIMITED',
      message: `More than ${limits.messagesPerSecond} messages per second`,
      closeCode: CLOSE_POLICY,
    };
  }
  if (data.length > limits.maxMessageBytes) {
    return {
      ok: false,
      code: 'PAYLOAD_TOO_LARGE',
      message: `Messages are limited to ${limits.maxMessageBytes} bytes`,
      closeCode: CLOSE_TOO_BIG,
    };
  }
  let message: unknown;
  try {
    if (isBinary) throw new Error('binary frame');
    message = JSON.parse(data.toString('utf8'));
  } catch {
    return {
      ok: false,
      code: 'VALIDATION_ERROR',
      message: 'Messages must be JSON text frames',
      closeCode: CLOSE_POLICY,
    };
  }
  const type = (message as { type?: unknown } | null)?.type;
  if (!isClientMessageType(type)) {
    return {
      ok: false,
      code: 'VALIDATION_ERROR',
      message: `Unknown message type ${JSON.stringify(type ?? null)}`,
      closeCode: CLOSE_POLICY,
    };
  }
  return { ok: true, type, message };
}
