// /v1/sessions: validate, call SyncEngine, answer with its SessionView. No session logic here.
import { Router, type Response } from 'express';
import type { SyncEngine } from '../../engine/SyncEngine.js';
import type { Metrics } from '../../monitoring/metrics.js';
import { checkAction, commandGuard, type Action } from '../../auth/permissions.js';
import {
  COMMAND_BODY_SCHEMAS,
  COMMAND_NAMES,
  COMMAND_TYPES,
  toSessionCommand,
} from '../../schemas/commands.js';
import type { SessionCommandType, SessionView } from '../../types/session.js';
import { principalOf } from '../middlewares/authenticate.js';
import { createSessionSchema, deleteQuerySchema, idSchema, parseInput } from '../../schemas/requests.js';

export interface SessionsRouteDeps {
  engine: SyncEngine;
  metrics: Metrics;
}

/** Checks the caller may do `action` here, before the body is even read; returns who it is. */
function authorize(res: Response, action: Action, sessionId: string | null) {
  const principal = principalOf(res);
  checkAction(principal, action, sessionId);
  return { principal, actor: principal.subject };
}

type TimedOperation = SessionCommandType | 'create' | 'get';

/** A state is only true as of its server_time, so no cache may keep it. */
function sendState(res: Response, status: number, view: SessionView): void {
  res.status(status).setHeader('cache-control', 'no-store').json(view);
}

/** The path id, with the same rules as ids in bodies. */
function sessionIdOf(params: Record<string, string>): string {
  return parseInput(idSchema, params.id, ['session_id']);
}

/** A missing or empty body is an empty object. */
function bodyOf(body: unknown): unknown {
  return body ?? {};
}

export function sessionsRouter(deps: SessionsRouteDeps): Router {
  const { engine, metrics } = deps;
  const router = Router();

  async function timed<T>(operation: TimedOperation, run: () => Promise<T>): Promise<T> {
    const startedAtMs = performance.now();
    try {
      return await run();
    } finally {
      metrics.commandDuration.observe({ command: operation }, (performance.now() - startedAtMs) / 1000);
    }
  }

  router.post('/', async (req, res) => {
    const { actor } = authorize(res, 'create', null);
    const input = parseInput(createSessionSchema, bodyOf(req.body));
    const view = await timed('create', () => engine.createSession(input, { actor }));
    res.location(`/v1/sessions/${encodeURIComponent(view.session_id)}`);
    sendState(res, 201, view);
  });

  router.get('/:id', async (req, res) => {
    const sessionId = sessionIdOf(req.params);
    authorize(res, 'read', sessionId);
    sendState(res, 200, await timed('get', () => engine.getSession(sessionId)));
  });

  for (const name of COMMAND_NAMES) {
    router.post(`/:id/${name.toLowerCase()}`, async (req, res) => {
      const sessionId = sessionIdOf(req.params);
      const { principal, actor } = authorize(res, COMMAND_TYPES[name], sessionId);
      const body = parseInput(COMMAND_BODY_SCHEMAS[name], bodyOf(req.body));
      const { command, expectedVersion } = toSessionCommand(name, body);
      const guard = commandGuard(principal, command);
      const view = await timed(command.type, () =>
        engine.execute(sessionId, command, { expectedVersion, actor, guard }),
      );
      sendState(res, 200, view);
    });
  }

  router.delete('/:id', async (req, res) => {
    const sessionId = sessionIdOf(req.params);
    const { actor } = authorize(res, 'delete', sessionId);
    const query = parseInput(deleteQuerySchema, req.query, ['query']);
    await timed('cancel', () =>
      engine.deleteSession(sessionId, { expectedVersion: query.expected_version, actor }),
    );
    res.status(204).end();
  });

  return router;
}
