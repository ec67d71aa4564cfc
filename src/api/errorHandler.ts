// The one place errors become responses: `{ error: { code, message, details } }` everywhere.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { SyncKairosError, validationError } from '../types/errors.js';
import type { Logger } from '../monitoring/logger.js';
import type { Metrics } from '../monitoring/metrics.js';
import { toValidationIssues } from '../schemas/requests.js';

/** What body-parser attaches to the errors it throws. */
interface BodyParserError {
  type: string;
  status?: number;
  limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string';
}

function bodyParserError(err: BodyParserError): SyncKairosError | null {
  switch (err.type) {
    case 'entity.parse.failed':
      return new SyncKairosError('VALIDATION_ERROR', 'The request body is not valid JSON', {
        issues: [{ path: '', message: 'is not valid JSON' }],
      });
    case 'entity.too.large':
      return new SyncKairosError(
        'PAYLOAD_TOO_LARGE',
        `The request body is larger than the limit of ${err.limit ?? 'the configured'} bytes`,
        { limit_bytes: err.limit },
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new SyncKairosError('VALIDATION_ERROR', 'The request body must be UTF-8 encoded JSON');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new SyncKairosError('VALIDATION_ERROR', 'The request body could not be read');
    default:
      return null;
  }
}

/** Anything we did not throw on purpose becomes a plain 500; its cause goes to the log only. */
function toSyncKairosError(err: unknown): SyncKairosError | null {
  if (err instanceof SyncKairosError) return err;
  if (err instanceof ZodError) return validationError(toValidationIssues(err));
  if (isBodyParserError(err)) return bodyParserError(err);
  return null;
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new SyncKairosError('NOT_FOUND', `No such endpoint: ${req.method} ${req.path}`));
  };
}

export function errorHandler(deps: { logger: Logger; metrics: Metrics }): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      // Too late for the error shape; let Express end the response.
      next(err);
      return;
    }
    const known = toSyncKairosError(err);
    const error = known ?? new SyncKairosError('INTERNAL_ERROR', 'Internal server error');
    const requestId = res.getHeader('x-request-id');
    if (known === null) {
      deps.logger.error({ err, requestId, method: req.method, path: req.path }, 'unexpected error');
    } else if (error.status >= 500) {
      deps.logger.warn({ err: error, cause: error.cause, requestId, path: req.path }, error.message);
    } else {
      deps.logger.debug({ code: error.code, requestId, path: req.path }, error.message);
    }
    deps.metrics.httpErrors.inc({ code: error.code });
    res.status(error.status).json(error.toBody());
  };
}
