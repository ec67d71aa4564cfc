// /v1/sessions: validate, call SyncEngine, answer with its SessionView. No session logic here.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SyncEngine } from '../../engine/SyncEngine.js';
import type { Metrics } from '../../monitoring/metrics.js';
import { checkAction, commandGuard, type Action } from '../../auth/permissions.js';
import {
  COMMAND_BODY_SCHEMAS,
  COMMAND_NAMES,
  COMMAND_TYPES,
  toSessionCommand,
} from '../../schemas/commands.js';
import type { RenderedView } from '../../engine/renderedView.js';
import type { SessionCommandType, SessionView } from '../../types/session.js';
import { principalOf } from '../middlewares/authenticate.js';
import {
  BATCH_BODY_LIMIT_BYTES,
  createSessionSchema,
  DEFAULT_SESSIONS_LIMIT,
  deleteQuerySchema,
  encodeSessionListCursor,
  idSchema,
  listSessionsQuerySchema,
  parseBatchInput,
  parseInput,
} from '../../schemas/requests.js';

export interface SessionsRouteDeps {
  engine: SyncEngine;
  metrics: Metrics;
}

/** Checks the caller may do `action` here, before the body is even read; returns who it is. */
function authorize(req: FastifyRequest, action: Action, sessionId: string | null) {
  const principal = principalOf(req);
  checkAction(principal, action, sessionId);
  return { principal, actor: principal.subject };
}

type TimedOperation = SessionCommandType | 'create' | 'create_batch' | 'get' | 'list';

/** A state is only true as of its server_time, so no cache may keep it. */
function sendState(reply: FastifyReply, status: number, view: SessionView): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send(view);
}

/** A command's answer: the commit's JSON, the same bytes as this instance's STATE frames of it. */
function sendCommitted(reply: FastifyReply, rendered: RenderedView): FastifyReply {
  return reply
    .code(200)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(rendered.json);
}

/** The path id, with the same rules as ids in bodies. */
function sessionIdOf(params: { id: string }): string {
  return parseInput(idSchema, params.id, ['session_id']);
}

/** A missing or empty body is an empty object. */
function bodyOf(body: unknown): unknown {
  return body ?? {};
}

type WithId = { Params: { id: string } };

export function sessionsRoutes(app: FastifyInstance, deps: SessionsRouteDeps): void {
  const { engine, metrics } = deps;

  async function timed<T>(operation: TimedOperation, run: () => Promise<T>): Promise<T> {
    const startedAtMs = performance.now();
    try {
      return await run();
    } finally {
      metrics.commandDuration.observe({ command: operation }, (performance.now() - startedAtMs) / 1000);
    }
  }

  app.post('/', async (req, reply) => {
    const { actor } = authorize(req, 'create', null);
    const input = parseInput(createSessionSchema, bodyOf(req.body));
    const view = await timed('create', () => engine.createSession(input, { actor }));
    reply.header('location', `/v1/sessions/${encodeURIComponent(view.session_id)}`);
    return sendState(reply, 201, view);
  });

  batchRoute(app, engine, timed);
  app.get('/', async (req, reply) => {
    authorize(req, 'list', null);
    const query = parseInput(listSessionsQuerySchema, req.query, ['query']);
    const status = query.status ?? null;
    const page = await timed('list', () =>
      engine.listSessions({
        status: query.status,
        afterId: query.cursor?.afterId,
        limit: query.limit ?? DEFAULT_SESSIONS_LIMIT,
      }),
    );
    const nextCursor =
      page.nextAfterId === null ? null : encodeSessionListCursor({ afterId: page.nextAfterId, status });
    return reply
      .code(200)
      .header('cache-control', 'no-store')
      .send({ sessions: page.sessions, next_cursor: nextCursor });
  });

  app.get<WithId>('/:id', async (req, reply) => {
    const sessionId = sessionIdOf(req.params);
    authorize(req, 'read', sessionId);
    return sendState(reply, 200, await timed('get', () => engine.getSession(sessionId)));
  });

  for (const name of COMMAND_NAMES) {
    app.post<WithId>(`/:id/${name.toLowerCase()}`, async (req, reply) => {
      const sessionId = sessionIdOf(req.params);
      const { principal, actor } = authorize(req, COMMAND_TYPES[name], sessionId);
      const body = parseInput(COMMAND_BODY_SCHEMAS[name], bodyOf(req.body));
      const { command, expectedVersion } = toSessionCommand(name, body);
      const guard = commandGuard(principal, command);
      const { rendered } = await timed(command.type, () =>
        engine.executeDetailed(sessionId, command, { expectedVersion, actor, guard }),
      );
      return sendCommitted(reply, rendered);
    });
  }

  app.delete<WithId>('/:id', async (req, reply) => {
    const sessionId = sessionIdOf(req.params);
    const { actor } = authorize(req, 'delete', sessionId);
    const query = parseInput(deleteQuerySchema, req.query, ['query']);
    await timed('cancel', () =>
      engine.deleteSession(sessionId, { expectedVersion: query.expected_version, actor }),
    );
    return reply.code(204).send();
  });
}

/** POST /v1/sessions/batch: all created (and started at start_at) or none; the states in request order. */
function batchRoute(
  app: FastifyInstance,
  engine: SyncEngine,
  timed: <T>(operation: TimedOperation, run: () => Promise<T>) => Promise<T>,
): void {
  const bodyLimit = Math.max(app.initialConfig.bodyLimit ?? 0, BATCH_BODY_LIMIT_BYTES);
  app.post('/batch', { bodyLimit }, async (req, reply) => {
    const { actor } = authorize(req, 'create', null);
    const body = parseBatchInput(bodyOf(req.body));
    const sessions = await timed('create_batch', () =>
      engine.createSessions(body.sessions, { actor, startAtMs: body.start_at }),
    );
    return reply.code(201).header('cache-control', 'no-store').send({ sessions });
  });
}
