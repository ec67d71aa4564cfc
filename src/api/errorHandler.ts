// The one place errors become responses: `{ error: { code, message, details } }` everywhere.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { SyncKairosError, validationError } from '../types/errors.js';
import type { Logger } from '../monitoring/logger.js';
import type { Metrics } from '../monitoring/metrics.js';
import { toValidationIssues } from '../schemas/requests.js';
import { pathOf } from './middlewares/paths.js';
import { isDecodingBody } from './requestBody.js';

/** The URL could not be percent-decoded (`/v1/sessions/%ZZ`, `/s/%E9`). */
function badPathEncoding(): SyncKairosError {
  return new SyncKairosError('VALIDATION_ERROR', 'The URL path is not valid percent-encoded UTF-8', {
    issues: [{ path: 'url', message: 'is not valid percent-encoded UTF-8' }],
  });
}

/** The body's stream failed while decoding: it is not what its Content-Encoding says. */
function undecodableBody(req: FastifyRequest, err: Error): SyncKairosError {
  const encoding = req.headers['content-encoding'] ?? '';
  return new SyncKairosError(
    'VALIDATION_ERROR',
    `The request body could not be decoded (Content-Encoding: ${encoding})`,
    { issues: [{ path: '', message: `is not valid ${encoding} data: ${err.message}` }] },
  );
}

/** What Fastify itself refuses before a handler runs. */
function fastifyError(err: FastifyError, bodyLimitBytes: number): SyncKairosError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SyncKairosError(
        'PAYLOAD_TOO_LARGE',
        `The request body is larger than the limit of ${bodyLimitBytes} bytes`,
        { limit_bytes: bodyLimitBytes },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SyncKairosError(
        'VALIDATION_ERROR',
        'The request body must be JSON (Content-Type: application/json)',
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new SyncKairosError('VALIDATION_ERROR', 'The request body could not be read');
    case 'FST_ERR_BAD_URL':
      return badPathEncoding();
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new SyncKairosError('VALIDATION_ERROR', 'A segment of the URL path is too long', {
        issues: [{ path: 'url', message: 'has a segment that is too long' }],
      });
    default:
      return null;
  }
}

/** Anything we did not throw on purpose becomes a plain 500; its cause goes to the log only. */
function toSyncKairosError(
  err: unknown,
  req: FastifyRequest,
  bodyLimitBytes: number,
): SyncKairosError | null {
  if (err instanceof SyncKairosError) return err;
  if (err instanceof ZodError) return validationError(toValidationIssues(err));
  if (!(err instanceof Error)) return null;
  // A route may have a limit of its own (the batch create).
  const known = fastifyError(err as FastifyError, req.routeOptions?.bodyLimit ?? bodyLimitBytes);
  if (known !== null) return known;
  // Fastify marks a failed body stream 400: a decoder's error, or a client that went away.
  if ((err as FastifyError).statusCode === 400) {
    return isDecodingBody(req)
      ? undecodableBody(req, err)
      : new SyncKairosError('VALIDATION_ERROR', 'The request body could not be read');
  }
  return null;
}

export interface ErrorHandlerDeps {
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes: number;
}

export function errorHandler(
  deps: ErrorHandlerDeps,
): (err: unknown, req: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (err, req, reply) => {
    const known = toSyncKairosError(err, req, deps.bodyLimitBytes);
    const error = known ?? new SyncKairosError('INTERNAL_ERROR', 'Internal server error');
    const requestId = reply.getHeader('x-request-id');
    const path = pathOf(req.url);
    if (known === null) {
      deps.logger.error({ err, requestId, method: req.method, path }, 'unexpected error');
    } else if (error.status >= 500) {
      deps.logger.warn({ err: error, cause: error.cause, requestId, path }, error.message);
    } else {
      deps.logger.debug({ code: error.code, requestId, path }, error.message);
    }
    deps.metrics.httpErrors.inc({ code: error.code });
    return reply.code(error.status).type('application/json; charset=utf-8').send(error.toBody());
  };
}

/** No route here: the 404 in the error shape, naming what was asked. */
export function notFound(req: FastifyRequest): never {
  throw new SyncKairosError('NOT_FOUND', `No such endpoint: ${req.method} ${pathOf(req.url)}`);
}
