// GET /v1/sessions/:id/events: a session's audit history, oldest first, from the audit store
// (never the hot path). Pages are `limit` events long; `next_cursor` fetches the next one.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { checkAction } from '../../auth/permissions.js';
import { decodeHistoryCursor, isConnectionError, type AuditStore } from '../../audit/AuditStore.js';
import { idSchema, parseInput } from '../../schemas/requests.js';
import { sessionNotFound, storeUnavailable } from '../../types/errors.js';
import { principalOf } from '../middlewares/authenticate.js';

export const DEFAULT_EVENTS_LIMIT = 100;
export const MAX_EVENTS_LIMIT = 500;

export const eventsQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,6}$/, 'must be an integer')
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_EVENTS_LIMIT, `must be between 1 and ${MAX_EVENTS_LIMIT}`)
    .optional(),
  cursor: z
    .string()
    .transform((cursor, ctx) => {
      const version = decodeHistoryCursor(cursor);
      if (version === null) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor this endpoint returned' });
        return z.NEVER;
      }
      return version;
    })
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
      });
      // An empty page is either past the end of a history or no history at all; only the latter is a 404.
      if (page.events.length === 0 && (await store.sessionSummary(sessionId)) === null) {
        throw sessionNotFound(sessionId);
      }
      return reply
        .code(200)
        .header('cache-control', 'no-store')
        .send({ events: page.events, next_cursor: page.nextCursor });
    } catch (err) {
      throw auditError(err);
    }
  });
}
