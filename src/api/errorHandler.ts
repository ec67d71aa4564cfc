// The one place errors become responses: `{ error: { code, message, details } }` everywhere.
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
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

/** What http-errors (body-parser, the router) attach: 4xx and `expose` mean the client's fault. */
interface ClientHttpError {
  status: number;
  expose: true;
  message: string;
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

const statusOf = (err: unknown): unknown => (err as { status?: unknown } | null)?.status;

function isClientHttpError(err: unknown): err is ClientHttpError {
  return err instanceof Error && statusOf(err) === 400 && (err as { expose?: unknown }).expose === true;
}

/** The router could not percent-decode a path parameter (`/v1/sessions/%ZZ`, `/s/%E9`). */
function badPathEncoding(): SyncKairosError {
  return new SyncKairosError('VALIDATION_ERROR', 'The URL path is not valid percent-encoded UTF-8', {
    issues: [{ path: 'url', message: 'is not valid percent-encoded UTF-8' }],
  });
}

/** body-parser's untyped 400: the body's stream failed, i.e. it did not decode as its Content-Encoding says. */
function unreadableBody(req: Request, err: ClientHttpError): SyncKairosError {
  const encoding = req.headers['content-encoding'];
  if (encoding === undefined)
    return new SyncKairosError('VALIDATION_ERROR', 'The request body could not be read');
  return new SyncKairosError(
    'VALIDATION_ERROR',
    `The request body could not be decoded (Content-Encoding: ${encoding})`,
    { issues: [{ path: '', message: `is not valid ${encoding} data: ${err.message}` }] },
  );
}

/** Anything we did not throw on purpose becomes a plain 500; its cause goes to the log only. */
function toSyncKairosError(err: unknown, req: Request): SyncKairosError | null {
  if (err instanceof SyncKairosError) return err;
  if (err instanceof ZodError) return validationError(toValidationIssues(err));
  if (err instanceof URIError && statusOf(err) === 400) return badPathEncoding();
  if (isBodyParserError(err)) return bodyParserError(err);
  if (isClientHttpError(err)) return unreadableBody(req, err);
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
    const known = toSyncKairosError(err, req);
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
