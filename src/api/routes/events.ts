// GET /v1/sessions/:id/events: a session's audit history, oldest first, from the audit store
// (never the hot path). Pages are `limit` events long; `next_cursor` fetches the next one.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { checkAction } from '../../auth/permissions.js';
import { decodeHistoryCursor, isConnectionError, type AuditStore } from '../../audit/AuditStore.js';
import { idSchema, pageCursorSchema, pageLimitSchema, parseInput } from '../../schemas/requests.js';
import { SyncKairosError, sessionNotFound, storeUnavailable } from '../../types/errors.js';
import { principalOf } from '../middlewares/authenticate.js';

export const DEFAULT_EVENTS_LIMIT = 100;
export const MAX_EVENTS_LIMIT = 500;

export const eventsQuerySchema = z.strictObject({
  limit: pageLimitSchema(MAX_EVENTS_LIMIT).optional(),
  cursor: pageCursorSchema(decodeHistoryCursor).optional(),
  /** Which lifetime of a reused id (1: its first creation); the current one when absent. */
  lifetime: z
    .string()
    .regex(/^[1-9]\d{0,8}$/, 'must be a positive integer')
    .transform(Number)
    .optional(),
});

export interface EventsRouteDeps {
  /** Without one (no audit trail configured) the endpoint answers 503. */
  auditStore?: AuditStore | undefined;
}

/** An unreachable database is a 503 that names the audit store; anything else is unexpected (500). */
function auditError(err: unknown): unknown {
  return isConnectionError(err) ? storeUnavailable('audit', err) : err;
}

/** No history at all (404 as for any unknown session), or not the lifetime asked for. */
function noSuchLifetime(sessionId: string, lifetime: number | undefined, lifetimes: number): SyncKairosError {
  if (lifetime === undefined || lifetimes === 0) return sessionNotFound(sessionId);
  return new SyncKairosError(
    'SESSION_NOT_FOUND',
    `Session '${sessionId}' has no lifetime ${lifetime}: its id was created ${lifetimes} time(s)`,
    { session_id: sessionId, lifetime, lifetimes },
  );
}

export function eventsRoutes(app: FastifyInstance, deps: EventsRouteDeps): void {
  app.get<{ Params: { id: string } }>('/:id/events', async (req, reply) => {
    const sessionId = parseInput(idSchema, req.params.id, ['session_id']);
    checkAction(principalOf(req), 'read', sessionId);
    const query = parseInput(eventsQuerySchema, req.query, ['query']);
    const store = deps.auditStore;
    if (store === undefined) throw storeUnavailable('audit');

    try {
      const page = await store.history(sessionId, {
        after: query.cursor,
        limit: query.limit ?? DEFAULT_EVENTS_LIMIT,
        lifetime: query.lifetime,
      });
      if (page.lifetime === null) throw noSuchLifetime(sessionId, query.lifetime, page.lifetimes);
      return reply.code(200).header('cache-control', 'no-store').send({
        events: page.events,
        next_cursor: page.nextCursor,
        lifetime: page.lifetime,
        lifetimes: page.lifetimes,
      });
    } catch (err) {
      throw auditError(err);
    }
  });
}
