// One error class with a machine `code` and an HTTP `status`; every transport turns it into
// the one error shape `{ error: { code, message, details } }`.
import { ERROR_STATUS, type ErrorBody, type ErrorCode, type ValidationIssue } from '@synckairos/client/wire';

export { ERROR_STATUS, type ErrorBody, type ErrorCode, type ValidationIssue } from '@synckairos/client/wire';

export class SyncKairosError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SyncKairosError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export function validationError(issues: ValidationIssue[]): SyncKairosError {
  const summary = issues.map((issue) => `${issue.path || '(body)'}: ${issue.message}`).join('; ');
  return new SyncKairosError('VALIDATION_ERROR', `Invalid request: ${summary}`, { issues });
}

const SESSION_PATH = /^sessions\.(\d+)(\.|$)/;

/** VALIDATION_ERROR for a batch of sessions: the issues, and the index of every session that has one. */
export function batchValidationError(issues: ValidationIssue[]): SyncKairosError {
  const indexes = new Set<number>();
  for (const issue of issues) {
    const index = SESSION_PATH.exec(issue.path)?.[1];
    if (index !== undefined) indexes.add(Number(index));
  }
  const error = validationError(issues);
  return new SyncKairosError(error.code, error.message, { issues, indexes: [...indexes] });
}

/** 409 for a batch some of whose ids are taken: nothing was created; which indexes, which ids. */
export function batchSessionsExist(
  sessionIds: readonly string[],
  indexes: readonly number[],
): SyncKairosError {
  const taken = indexes.map((index) => sessionIds[index] ?? '');
  return new SyncKairosError(
    'SESSION_EXISTS',
    `Nothing was created: already in use: ${taken.map((id) => `'${id}'`).join(', ')}`,
    { indexes, session_ids: taken },
  );
}

export function sessionNotFound(sessionId: string): SyncKairosError {
  return new SyncKairosError('SESSION_NOT_FOUND', `Session '${sessionId}' does not exist`, {
    session_id: sessionId,
  });
}

export function invalidState(message: string, details?: unknown): SyncKairosError {
  return new SyncKairosError('INVALID_STATE', message, details);
}

export function versionConflict(expectedVersion: number, currentVersion: number): SyncKairosError {
  return new SyncKairosError(
    'VERSION_CONFLICT',
    `Expected version ${expectedVersion} but the session is at version ${currentVersion}`,
    { expected_version: expectedVersion, current_version: currentVersion },
  );
}

/** A backing store (redis, postgres) did not answer; `store` names it. */
/** The cause goes to the log only: its message may name internal addresses. */
export function storeUnavailable(store: string, cause?: unknown): SyncKairosError {
  return new SyncKairosError('STORE_UNAVAILABLE', `The ${store} store is unavailable`, { store }, { cause });
}
