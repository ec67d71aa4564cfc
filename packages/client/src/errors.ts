// One error class for everything the SDK rejects with: the server's one error shape (REST or a
// WebSocket ERROR), or a failure to reach it, each with a machine `code`.
import { ERROR_STATUS, type ErrorCode } from './wire/errors.js';

/** Codes the SDK itself gives when there is no answer from the server to report. */
export type ClientErrorCode =
  /** The request could not be sent or no answer came back (network, DNS, refused). */
  | 'NETWORK_ERROR'
  /** No answer within the time limit. */
  | 'TIMEOUT'
  /** The connection dropped before the answer came; the command may or may not have been applied. */
  | 'DISCONNECTED'
  /** The handle was closed. */
  | 'CLOSED'
  /** An answer that is not in the API's error shape (a proxy's HTML page, …). */
  | 'BAD_RESPONSE';

export type SyncKairosErrorCode = ErrorCode | ClientErrorCode;

export class SyncKairosApiError extends Error {
  /** HTTP status: the response's, the code's for a WebSocket ERROR, 0 when nothing was answered. */
  readonly status: number;
  readonly code: SyncKairosErrorCode;
  readonly details: unknown;

  constructor(
    code: SyncKairosErrorCode,
    message: string,
    options: { status?: number; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SyncKairosApiError';
    this.code = code;
    this.status = options.status ?? (Object.hasOwn(ERROR_STATUS, code) ? ERROR_STATUS[code as ErrorCode] : 0);
    this.details = options.details;
  }
}

/** The one error shape's body (`{ error: { code, message, details } }`), or null if `body` is not one. */
export function fromErrorBody(body: unknown, status?: number): SyncKairosApiError | null {
  const error = (body as { error?: unknown } | null)?.error as
    { code?: unknown; message?: unknown; details?: unknown } | undefined;
  if (typeof error !== 'object' || error === null || typeof error.code !== 'string') return null;
  const message = typeof error.message === 'string' ? error.message : error.code;
  return new SyncKairosApiError(error.code as SyncKairosErrorCode, message, {
    ...(status === undefined ? {} : { status }),
    details: error.details,
  });
}
