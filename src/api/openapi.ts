// The OpenAPI 3.1 document, generated from the same zod schemas that validate requests and
// describe responses, so it cannot say something the server does not do. Built once at startup.
import { createRequire } from 'node:module';
import { z } from 'zod';
import { COMMAND_BODY_SCHEMAS, COMMAND_NAMES, type CommandName } from '../schemas/commands.js';
import {
  BATCH_BODY_LIMIT_BYTES,
  MAX_BATCH_SESSIONS,
  createBatchSchema,
  createSessionSchema,
  cueSchema,
  DEFAULT_SESSIONS_LIMIT,
  deleteQuerySchema,
  groupSchema,
  idSchema,
  listSessionsQuerySchema,
  MAX_SESSIONS_LIMIT,
  participantSchema,
} from '../schemas/requests.js';
import {
  cueViewSchema,
  errorBodySchema,
  groupViewSchema,
  healthResponseSchema,
  lapViewSchema,
  participantViewSchema,
  readyResponseSchema,
  sessionBatchResponseSchema,
  sessionEventsResponseSchema,
  sessionEventViewSchema,
  sessionListResponseSchema,
  sessionViewSchema,
  timeResponseSchema,
} from '../schemas/responses.js';
import {
  bronsteinSchema,
  byoyomiSchema,
  canadianSchema,
  delaySchema,
  fischerSchema,
  hourglassSchema,
  stageSchema,
  stagesSchema,
  timeControlSchema,
} from '../schemas/timeControl.js';
import {
  createdWebhookViewSchema,
  createWebhookBody,
  deliveryPageSchema,
  deliveryViewSchema,
  deviceViewSchema,
  registerDeviceBody,
  webhookEndpointViewSchema,
  webhookListSchema,
} from '../schemas/webhooks.js';
import type { ErrorCode } from '../types/errors.js';
import { DEFAULT_DELIVERIES_LIMIT, MAX_DELIVERIES_LIMIT } from '../webhooks/WebhookService.js';
import { DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT } from './routes/events.js';

type JsonSchema = Record<string, unknown>;
type HttpMethod = 'get' | 'post' | 'delete';

export interface OpenApiOptions {
  bodyLimitBytes: number;
  rateLimit?: { windowMs: number; max: number };
  authEnabled?: boolean;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: {
    title: string;
    version: string;
    description: string;
    license: { name: string; identifier: string };
  };
  paths: Record<string, Partial<Record<HttpMethod, Record<string, unknown>>>>;
  components: Record<string, unknown>;
  [field: string]: unknown;
}

const SCHEMA_REF = '#/components/schemas/';
const ref = (id: string) => ({ $ref: `${SCHEMA_REF}${id}` });

/** Every schema with a name in the document; nested named schemas become $refs. */
function componentSchemas(): Record<string, JsonSchema> {
  const requests = z.registry<{ id: string }>();
  requests.add(createSessionSchema, { id: 'CreateSessionRequest' });
  requests.add(createBatchSchema, { id: 'CreateSessionBatchRequest' });
  requests.add(participantSchema, { id: 'ParticipantInput' });
  requests.add(groupSchema, { id: 'GroupInput' });
  requests.add(cueSchema, { id: 'CueInput' });
  addTimeControls(requests);
  requests.add(createWebhookBody, { id: 'CreateWebhookRequest' });
  requests.add(registerDeviceBody, { id: 'RegisterDeviceRequest' });
  for (const name of COMMAND_NAMES) {
    const schema = COMMAND_BODY_SCHEMAS[name];
    // pause, resume and complete share one schema: it gets one name.
    if (!requests.has(schema)) requests.add(schema, { id: commandSchemaId(name) });
  }
  const responses = z.registry<{ id: string }>();
  responses.add(sessionViewSchema, { id: 'SessionView' });
  responses.add(sessionBatchResponseSchema, { id: 'SessionBatch' });
  responses.add(participantViewSchema, { id: 'ParticipantView' });
  responses.add(groupViewSchema, { id: 'GroupView' });
  responses.add(lapViewSchema, { id: 'LapView' });
  responses.add(cueViewSchema, { id: 'CueView' });
  addTimeControls(responses);
  responses.add(errorBodySchema, { id: 'Error' });
  responses.add(timeResponseSchema, { id: 'ServerTime' });
  responses.add(healthResponseSchema, { id: 'Health' });
  responses.add(readyResponseSchema, { id: 'Ready' });
  responses.add(sessionEventViewSchema, { id: 'SessionEvent' });
  responses.add(sessionEventsResponseSchema, { id: 'SessionEvents' });
  responses.add(sessionListResponseSchema, { id: 'SessionList' });
  responses.add(webhookEndpointViewSchema, { id: 'WebhookEndpoint' });
  responses.add(createdWebhookViewSchema, { id: 'CreatedWebhookEndpoint' });
  responses.add(webhookListSchema, { id: 'WebhookEndpoints' });
  responses.add(deliveryViewSchema, { id: 'WebhookDelivery' });
  responses.add(deliveryPageSchema, { id: 'WebhookDeliveries' });
  responses.add(deviceViewSchema, { id: 'PushDevice' });

  const uri = (id: string) => `${SCHEMA_REF}${id}`;
  const all = {
    ...z.toJSONSchema(requests, { uri, io: 'input', unrepresentable: 'any' }).schemas,
    ...z.toJSONSchema(responses, { uri, io: 'output', unrepresentable: 'any' }).schemas,
  };
  return Object.fromEntries(Object.entries(all).map(([id, schema]) => [id, stripDialect(schema)]));
}

/** Requests and views share the time control schemas; each registry names them the same way. */
function addTimeControls(registry: z.core.$ZodRegistry<{ id: string }>): void {
  registry.add(timeControlSchema, { id: 'TimeControl' });
  registry.add(fischerSchema, { id: 'FischerControl' });
  registry.add(bronsteinSchema, { id: 'BronsteinControl' });
  registry.add(delaySchema, { id: 'DelayControl' });
  registry.add(stagesSchema, { id: 'StagesControl' });
  registry.add(stageSchema, { id: 'Stage' });
  registry.add(byoyomiSchema, { id: 'ByoyomiControl' });
  registry.add(canadianSchema, { id: 'CanadianControl' });
  registry.add(hourglassSchema, { id: 'HourglassControl' });
}

function commandSchemaId(name: CommandName): string {
  const shared = COMMAND_NAMES.filter((other) => COMMAND_BODY_SCHEMAS[other] === COMMAND_BODY_SCHEMAS[name]);
  if (shared.length > 1) return 'VersionOnlyCommand';
  return `${name.charAt(0)}${name.slice(1).toLowerCase()}Command`;
}

/** OpenAPI 3.1 schemas are JSON Schema 2020-12 already; the per-schema `$schema`/`$id` are noise. */
function stripDialect(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

function inlineSchema(schema: z.ZodType): JsonSchema {
  return stripDialect(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema);
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'VALIDATION_ERROR: a field is missing, unknown, of the wrong type or out of range (details.issues says which and why); or the body is not JSON',
  401: 'UNAUTHORIZED: no bearer token, or one that is invalid or expired, lacks the configured iss or aud, or is a participant token without session_id',
  403: "FORBIDDEN: the token's role may not do this (webhooks: admin tokens not bound to a session only), is bound to another session, or it is not this participant's turn (or a participant named next_participant_id or next_cycle_index)",
  404: 'SESSION_NOT_FOUND: no session with this id; or NOT_FOUND: no webhook endpoint with this id, or no device with this token in the session',
  408: 'REQUEST_TIMEOUT: the request (its headers, or its body) did not arrive in full in time (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS); the connection is closed',
  409: 'VERSION_CONFLICT (expected_version is not current; details.current_version), INVALID_STATE (the command does not apply now, e.g. a switch to the participant who has the turn, or with nobody else left, a switch of a concurrent session, a pause of a clock that is not running) or SESSION_EXISTS',
  413: 'PAYLOAD_TOO_LARGE: the body is larger than BODY_LIMIT_BYTES',
  429: 'RATE_LIMITED: too many requests from this address; Retry-After and details.retry_after_s say when to try again',
  500: 'INTERNAL_ERROR: a bug; the cause is logged, never sent',
  503: 'STORE_UNAVAILABLE: a store does not answer, or is not configured (details.store names it; webhooks and devices need the `audit` store); a command answered so either took effect before the answer or never will: read the session to know which; or SHUTTING_DOWN: this instance is stopping, try another',
};

const ERROR_CODES_BY_STATUS: Record<number, ErrorCode[]> = {
  400: ['VALIDATION_ERROR'],
  401: ['UNAUTHORIZED'],
  403: ['FORBIDDEN'],
  404: ['SESSION_NOT_FOUND', 'NOT_FOUND'],
  408: ['REQUEST_TIMEOUT'],
  409: ['VERSION_CONFLICT', 'INVALID_STATE', 'SESSION_EXISTS'],
  413: ['PAYLOAD_TOO_LARGE'],
  429: ['RATE_LIMITED'],
  500: ['INTERNAL_ERROR'],
  503: ['STORE_UNAVAILABLE', 'SHUTTING_DOWN'],
};

function errorResponse(status: number): Record<string, unknown> {
  return { $ref: `#/components/responses/Error${status}` };
}

function errorResponses(statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(statuses.map((status) => [String(status), errorResponse(status)]));
}

function jsonContent(schema: unknown) {
  return { 'application/json': { schema } };
}

const RATE_LIMIT_HEADERS = {
  RateLimit: { $ref: '#/components/headers/RateLimit' },
  'RateLimit-Policy': { $ref: '#/components/headers/RateLimitPolicy' },
};

function stateResponse(description: string, extraHeaders: Record<string, unknown> = {}) {
  return {
    description,
    headers: { ...RATE_LIMIT_HEADERS, ...extraHeaders },
    content: jsonContent(ref('SessionView')),
  };
}

const SESSION_ID_PARAMETER = { $ref: '#/components/parameters/SessionId' };
const CURSOR_PARAMETER = {
  name: 'cursor',
  in: 'query',
  required: false,
  schema: { type: 'string' },
  description: 'next_cursor of the previous page',
};

/** `?limit=`: a page size, 1 … max. */
function limitParameter(byDefault: number, max: number): Record<string, unknown> {
  return {
    name: 'limit',
    in: 'query',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: max, default: byDefault },
  };
}
const WEBHOOK_ID_PARAMETER = { $ref: '#/components/parameters/WebhookId' };
/** What every /v1/sessions operation may answer besides its own outcome. */
const SESSIONS_ERRORS = [400, 401, 403, 429, 500, 503];

function commandOperation(name: CommandName): Record<string, unknown> {
  const lower = name.toLowerCase();
  const summaries: Record<string, string> = {
    START: 'Start the clock, now or at start_at (a future server time)',
    SWITCH:
      'Pass the turn to the next participant (or next_participant_id); in a per_cycle cue list, end the running cue and start the next (or next_cycle_index), completing the session after the last. Charged in full: lag compensation applies to switches sent over the WebSocket only',
    PAUSE:
      'Freeze all time; in a concurrent session, participant_id (group_id) freezes that clock alone (400 on a session that is not concurrent)',
    RESUME:
      'Continue exactly where the pause stopped; concurrent: one clock by participant_id (group_id), or every paused clock',
    COMPLETE:
      'End the session as completed; concurrent: one clock by participant_id (group_id), the session ending with its last clock',
    ADJUST:
      "Add delta_ms (positive or negative) to a participant's, a group's or the session's bank; concurrent without an id: to every clock in play",
    RESET:
      'Admins only: back to pending with the clocks the session was created with (banks, cycle, laps, phases, lag quotas; the first participant has the turn), from any status but cancelled; the version goes on (event `reset`), a pending session too',
  };
  return {
    operationId: `${lower}Session`,
    tags: ['sessions'],
    summary: summaries[name] ?? name,
    security: [{ bearerAuth: [] }],
    parameters: [SESSION_ID_PARAMETER],
    requestBody: {
      required: false,
      description: 'May be empty. Must be application/json when present.',
      content: jsonContent(ref(commandSchemaId(name))),
    },
    responses: {
      '200': stateResponse('The new state'),
      ...errorResponses([...SESSIONS_ERRORS, 404, 409, 413]),
    },
  };
}

/** One operation on /v1/webhooks: admin only, rate-limited like /v1/sessions. */
function webhookOperation(
  operationId: string,
  summary: string,
  success: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    operationId,
    tags: ['webhooks'],
    summary,
    security: [{ bearerAuth: [] }],
    ...extra,
    responses: { ...success, ...errorResponses([...SESSIONS_ERRORS, 404]) },
  };
}

function okJson(description: string, schemaId: string): Record<string, unknown> {
  return { '200': { description, headers: RATE_LIMIT_HEADERS, content: jsonContent(ref(schemaId)) } };
}

/** /v1/webhooks and the push devices of a session (DESIGN §12.3). */
function webhookPaths(): OpenApiDocument['paths'] {
  return {
    '/v1/webhooks': {
      post: webhookOperation(
        'createWebhook',
        'Subscribe a URL to session events; the answer holds the signing secret, shown only here',
        {
          '201': {
            description: 'Created, with its secret',
            headers: {
              ...RATE_LIMIT_HEADERS,
              Location: { description: '/v1/webhooks/<id>', schema: { type: 'string' } },
            },
            content: jsonContent(ref('CreatedWebhookEndpoint')),
          },
          ...errorResponses([413]),
        },
        { requestBody: { required: true, content: jsonContent(ref('CreateWebhookRequest')) } },
      ),
      get: webhookOperation(
        'listWebhooks',
        'Every webhook endpoint (without secrets)',
        okJson('The endpoints', 'WebhookEndpoints'),
      ),
    },
    '/v1/webhooks/{id}': {
      get: webhookOperation(
        'getWebhook',
        'One webhook endpoint (without its secret)',
        okJson('The endpoint', 'WebhookEndpoint'),
        {
          parameters: [WEBHOOK_ID_PARAMETER],
        },
      ),
      delete: webhookOperation(
        'deleteWebhook',
        'Remove the endpoint; its queued messages are dropped',
        { '204': { description: 'Deleted', headers: RATE_LIMIT_HEADERS } },
        { parameters: [WEBHOOK_ID_PARAMETER] },
      ),
    },
    '/v1/webhooks/{id}/deliveries': {
      get: webhookOperation(
        'listWebhookDeliveries',
        'The delivery log of the endpoint, oldest first',
        okJson('A page of deliveries', 'WebhookDeliveries'),
        {
          parameters: [
            WEBHOOK_ID_PARAMETER,
            limitParameter(DEFAULT_DELIVERIES_LIMIT, MAX_DELIVERIES_LIMIT),
            CURSOR_PARAMETER,
          ],
        },
      ),
    },
    '/v1/sessions/{id}/devices': {
      post: {
        operationId: 'registerDevice',
        tags: ['sessions'],
        summary:
          "Register an FCM token for the session's push notifications: an admin, or a participant of the session for its own participant_id",
        security: [{ bearerAuth: [] }],
        parameters: [SESSION_ID_PARAMETER],
        requestBody: { required: true, content: jsonContent(ref('RegisterDeviceRequest')) },
        responses: {
          '201': {
            description: 'Registered',
            headers: RATE_LIMIT_HEADERS,
            content: jsonContent(ref('PushDevice')),
          },
          ...errorResponses([...SESSIONS_ERRORS, 404, 413]),
        },
      },
    },
    '/v1/sessions/{id}/devices/{token}': {
      delete: {
        operationId: 'unregisterDevice',
        tags: ['sessions'],
        summary: 'Stop push notifications to this device: an admin, or a participant of the session',
        security: [{ bearerAuth: [] }],
        parameters: [
          SESSION_ID_PARAMETER,
          {
            name: 'token',
            in: 'path',
            required: true,
            description: 'The FCM registration token',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '204': { description: 'Removed', headers: RATE_LIMIT_HEADERS },
          ...errorResponses([...SESSIONS_ERRORS, 404]),
        },
      },
    },
  };
}

function packageVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildOpenApiDocument(options: OpenApiOptions): OpenApiDocument {
  const rateLimit = options.rateLimit;
  const rateLimitText =
    rateLimit === undefined || rateLimit.max === 0
      ? 'This deployment sets no request limit.'
      : `This deployment allows ${rateLimit.max} requests per ${Math.ceil(rateLimit.windowMs / 1000)} s per client address to /v1/sessions and /v1/webhooks.`;
  const authText =
    options.authEnabled === false
      ? 'Auth is OFF on this deployment: every caller acts as an admin and no token is needed.'
      : 'Send `Authorization: Bearer <JWT>`; roles: admin (create and control), participant (switch on its own turn), viewer (read).';

  const paths: OpenApiDocument['paths'] = {
    '/v1/time': {
      get: {
        operationId: 'getServerTime',
        security: [],
        tags: ['time'],
        summary: "The server's clock, for clock sync; touches no store and is never rate-limited",
        responses: { '200': { description: 'Server time', content: jsonContent(ref('ServerTime')) } },
      },
    },
    '/v1/sessions': {
      post: {
        operationId: 'createSession',
        tags: ['sessions'],
        summary: 'Create a session',
        description:
          'Which fields each sync_mode takes: per_participant `total_time_ms` + `increment_ms` or `time_control` ' +
          "(and each participant's own); per_group the same, with `groups[]` for each group's own; per_cycle " +
          '`time_per_cycle_ms`; global `total_time_ms`; count_up `max_time_ms`. A field the mode does not use is ' +
          'refused. `total_time_ms` + `increment_ms` is the shorthand for a fischer `time_control`.',
        security: [{ bearerAuth: [] }],
        requestBody: { required: true, content: jsonContent(ref('CreateSessionRequest')) },
        responses: {
          '201': stateResponse('Created: the state, version 1', {
            Location: { description: '/v1/sessions/<id>', schema: { type: 'string' } },
          }),
          ...errorResponses([...SESSIONS_ERRORS, 409, 413]),
        },
      },
      get: {
        operationId: 'listSessions',
        tags: ['sessions'],
        summary:
          'Every live session, ordered by session_id, a page at a time (admin tokens not bound to a session only)',
        description:
          'Pages follow session ids, so sessions created or deleted between pages never shift one: a walk sees ' +
          'every session that lived throughout it exactly once. `status` filters on the stored status; each ' +
          'state is shown as GET /v1/sessions/{id} shows it (a due expiry included).',
        security: [{ bearerAuth: [] }],
        parameters: [
          {
            name: 'status',
            in: 'query',
            required: false,
            schema: inlineSchema(listSessionsQuerySchema.shape.status),
            description: 'Only sessions with this status',
          },
          limitParameter(DEFAULT_SESSIONS_LIMIT, MAX_SESSIONS_LIMIT),
          {
            ...CURSOR_PARAMETER,
            description: 'next_cursor of the previous page, read with the same `status`',
          },
        ],
        responses: { ...okJson('A page of sessions', 'SessionList'), ...errorResponses(SESSIONS_ERRORS) },
      },
    },
    '/v1/sessions/batch': {
      post: {
        operationId: 'createSessionBatch',
        tags: ['sessions'],
        summary: `Create up to ${MAX_BATCH_SESSIONS} sessions at once, all or none; with start_at all start at that instant`,
        description:
          'Each session is checked as a single create is, and start_at as start checks it. Any bad session: 400, ' +
          'nothing created, `details.issues` at `sessions.<index>.<field>` and `details.indexes` listing each bad ' +
          'session (an id given twice is one). Any id already in use: 409 SESSION_EXISTS, nothing created, ' +
          '`details.indexes` and `details.session_ids`. Ids are checked before any is written; if a create still ' +
          'loses a race for its id, the sessions the batch created are cancelled and removed before the 409 (a ' +
          `watcher may briefly see one). Same permission as create. The body limit here is ${BATCH_BODY_LIMIT_BYTES} ` +
          'bytes (or BODY_LIMIT_BYTES if larger).',
        security: [{ bearerAuth: [] }],
        requestBody: { required: true, content: jsonContent(ref('CreateSessionBatchRequest')) },
        responses: {
          '201': {
            description: 'Created: every state, in request order (version 1, or 2 and running with start_at)',
            headers: RATE_LIMIT_HEADERS,
            content: jsonContent(ref('SessionBatch')),
          },
          ...errorResponses([...SESSIONS_ERRORS, 409, 413]),
        },
      },
    },
    '/v1/sessions/{id}': {
      get: {
        operationId: 'getSession',
        tags: ['sessions'],
        summary: 'The current state',
        security: [{ bearerAuth: [] }],
        parameters: [SESSION_ID_PARAMETER],
        responses: { '200': stateResponse('The state'), ...errorResponses([...SESSIONS_ERRORS, 404]) },
      },
      delete: {
        operationId: 'deleteSession',
        tags: ['sessions'],
        summary: 'Cancel and remove the session (one last version, event `cancelled`)',
        security: [{ bearerAuth: [] }],
        parameters: [
          SESSION_ID_PARAMETER,
          {
            name: 'expected_version',
            in: 'query',
            required: false,
            schema: inlineSchema(deleteQuerySchema.shape.expected_version),
            description: 'Refuse with 409 unless the session is at this version',
          },
        ],
        responses: {
          '204': { description: 'Cancelled and removed', headers: RATE_LIMIT_HEADERS },
          ...errorResponses([...SESSIONS_ERRORS, 404, 409]),
        },
      },
    },
    '/v1/sessions/{id}/events': {
      get: {
        operationId: 'listSessionEvents',
        tags: ['sessions'],
        summary:
          'The audit history of the session, one record per version, oldest first (503 naming `audit` when no audit store is configured or reachable)',
        security: [{ bearerAuth: [] }],
        parameters: [
          SESSION_ID_PARAMETER,
          limitParameter(DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT),
          CURSOR_PARAMETER,
          {
            name: 'lifetime',
            in: 'query',
            required: false,
            schema: { type: 'integer', minimum: 1 },
            description:
              'Which lifetime of a session id reused after DELETE: 1 is its first creation; the current one when absent (404 for one it never had)',
          },
        ],
        responses: {
          '200': {
            description: 'A page of records',
            headers: RATE_LIMIT_HEADERS,
            content: jsonContent(ref('SessionEvents')),
          },
          ...errorResponses([...SESSIONS_ERRORS, 404]),
        },
      },
    },
    '/': {
      get: {
        operationId: 'demoHome',
        security: [],
        tags: ['demo'],
        summary: 'The demo page: start a chess clock or a stage countdown',
        responses: {
          '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
    '/s/{sessionId}': {
      get: {
        operationId: 'demoSession',
        security: [],
        tags: ['demo'],
        summary: 'The demo page showing one session; any number of browsers see it in sync',
        parameters: [{ name: 'sessionId', in: 'path', required: true, schema: inlineSchema(idSchema) }],
        responses: {
          '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        security: [],
        tags: ['operations'],
        summary: 'Liveness: 200 while the process answers (a store outage is readiness business)',
        responses: { '200': { description: 'Alive', content: jsonContent(ref('Health')) } },
      },
    },
    '/ready': {
      get: {
        operationId: 'ready',
        security: [],
        tags: ['operations'],
        summary: 'Readiness: the state store answers a ping within 2 s',
        responses: {
          '200': { description: 'Ready', content: jsonContent(ref('Ready')) },
          '503': errorResponse(503),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        security: [],
        tags: ['operations'],
        summary: 'Prometheus metrics',
        responses: {
          '200': {
            description: 'Prometheus text format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openApiDocument',
        security: [],
        tags: ['operations'],
        summary: 'This document',
        responses: { '200': { description: 'OpenAPI 3.1', content: jsonContent({ type: 'object' }) } },
      },
    },
    '/docs': {
      get: {
        operationId: 'docsPage',
        security: [],
        tags: ['operations'],
        summary: 'This document, rendered (Swagger UI, served from this service)',
        responses: {
          '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
  };
  for (const name of COMMAND_NAMES) {
    paths[`/v1/sessions/{id}/${name.toLowerCase()}`] = { post: commandOperation(name) };
  }
  Object.assign(paths, webhookPaths());
  // Any request may time out before it has arrived in full.
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      (operation.responses as Record<string, unknown>)['408'] = errorResponse(408);
    }
  }

  const responses = Object.fromEntries(
    Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => {
      const codes = ERROR_CODES_BY_STATUS[Number(status)] ?? [];
      const body = {
        description: status === '413' ? `${description} (${options.bodyLimitBytes} bytes here)` : description,
        content: jsonContent({
          allOf: [
            ref('Error'),
            {
              type: 'object',
              properties: { error: { type: 'object', properties: { code: { enum: codes } } } },
            },
          ],
        }),
      };
      if (status === '429') {
        return [
          `Error${status}`,
          {
            ...body,
            headers: {
              'Retry-After': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
              ...RATE_LIMIT_HEADERS,
            },
          },
        ];
      }
      return [`Error${status}`, body];
    }),
  );

  return {
    openapi: '3.1.0',
    info: {
      title: 'SyncKairos',
      version: packageVersion(),
      license: { name: 'MIT', identifier: 'MIT' },
      description: [
        'Synchronized timers: the server owns the timestamps, every client calculates the time.',
        'Times are integers of milliseconds: instants are epoch ms of the server clock, durations end in `_ms`.',
        'Errors have one shape everywhere (`Error`). Unknown fields are refused.',
        'A method a path does not serve (OPTIONS too, unless it is a CORS preflight) is answered `405 METHOD_NOT_ALLOWED` with an `Allow` header; an unknown path `404 NOT_FOUND`.',
        'WebSocket: `/v1/ws?session_id=…` (not describable in OpenAPI; see the README).',
        authText,
        rateLimitText,
      ].join('\n\n'),
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'sessions', description: 'Create, read and control timer sessions' },
      { name: 'webhooks', description: 'Signed HTTP callbacks on session events (admin only)' },
      { name: 'time', description: 'Clock sync' },
      { name: 'operations', description: 'For the platform: health, readiness, metrics, this document' },
      { name: 'demo', description: 'The demo web page served by the service' },
    ],
    paths,
    components: {
      schemas: componentSchemas(),
      parameters: {
        SessionId: {
          name: 'id',
          in: 'path',
          required: true,
          description: 'The session id',
          schema: inlineSchema(idSchema),
        },
        WebhookId: {
          name: 'id',
          in: 'path',
          required: true,
          description: 'The webhook endpoint id (`ep_…`), as its creation answered',
          schema: { type: 'string' },
        },
      },
      headers: {
        RateLimit: {
          description: 'IETF draft 8: `"sessions"; r=<requests left>; t=<seconds until the window resets>`',
          schema: { type: 'string' },
        },
        RateLimitPolicy: {
          description: 'IETF draft 8: `"sessions"; q=<limit>; w=<window seconds>; pk=:<partition key>:`',
          schema: { type: 'string' },
        },
      },
      responses,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: authText },
      },
    },
  };
}

/** Each documented path (`/v1/sessions/{id}`) with its methods (`get`, `delete`). */
export function documentedMethods(document: OpenApiDocument): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(document.paths).map(([path, operations]) => [path, Object.keys(operations)]),
  );
}

/** Method and router-style path (`/v1/sessions/:id`) of every documented operation. */
export function documentedRoutes(document: OpenApiDocument): string[] {
  const routes: string[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const method of Object.keys(operations)) {
      routes.push(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
  }
  return routes.sort();
}
