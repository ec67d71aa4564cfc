// Request shapes, checked at the edge. Cross-field rules (duplicate ids, what a mode needs) are the
// engine's, so REST and WebSocket refuse the same things with the same messages.
import { z } from 'zod';
import {
  SyncKairosError,
  batchValidationError,
  validationError,
  type ValidationIssue,
} from '../types/errors.js';
import {
  DISCONNECT_ACTIONS,
  MAX_DISCONNECT_GRACE_MS,
  MIN_DISCONNECT_GRACE_MS,
  ON_EXPIRE_POLICIES,
  SESSION_STATUSES,
  SYNC_MODES,
  type SessionStatus,
} from '../types/session.js';
import { jsonTextIssues, nestsDeeperThan } from './jsonChecks.js';
import { timeControlSchema } from './timeControl.js';

export const MAX_DURATION_MS = 30 * 24 * 3600 * 1000; // 30 days: 2_592_000_000
export const MAX_ID_LENGTH = 128;
export const MAX_PARTICIPANTS = 1000;
export const MAX_GROUPS = 1000;
export const MAX_METADATA_BYTES = 4096;
export const MAX_PHASES = 16;
export const MAX_CUES = 1000;
export const MAX_CUE_LABEL_LENGTH = 128;
/** The most sessions one batch creates (a tournament round of 1000 players). */
export const MAX_BATCH_SESSIONS = 500;
/**
 * The batch route's body limit (the service's BODY_LIMIT_BYTES if larger): 500 sessions of up to
 * 8 KiB each, room for full metadata (4 KiB) and a dozen participants with their own controls.
 */
export const BATCH_BODY_LIMIT_BYTES = MAX_BATCH_SESSIONS * 8 * 1024;
/** `{}` is one level; far below what any consumer's parser allows (Lua cjson: 1000). */
export const MAX_METADATA_DEPTH = 32;

export const ID_PATTERN = /^(?!\.+$)[A-Za-z0-9_.:-]+$/;
// `*` here so an empty id gets one message ("must not be empty"), not two.
const ID_CHARS = /^[A-Za-z0-9_.:-]*$/;
// `.` and `..` are path segments: URLs normalise them away, so /v1/sessions/.. never reaches the session.
const NOT_ONLY_DOTS = /^(?!\.+$)/;

export const idSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .regex(ID_CHARS, 'may contain only letters, digits and _ . : -')
  .regex(NOT_ONLY_DOTS, 'must not consist of dots only');

const durationMs = z
  .number()
  .int('must be an integer number of milliseconds')
  .min(1, 'must be greater than 0')
  .max(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS} ms (30 days)`);

const incrementMs = z
  .number()
  .int('must be an integer number of milliseconds')
  .min(0, 'must not be negative')
  .max(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS} ms (30 days)`);

const expectedVersion = z.number().int('must be an integer').min(1, 'must be a positive integer').optional();

const metadata = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    // Checked first and without recursion: JSON.stringify below, and every later copy, recurses.
    if (nestsDeeperThan(value, MAX_METADATA_DEPTH)) {
      ctx.addIssue({ code: 'custom', message: `must not nest more than ${MAX_METADATA_DEPTH} levels deep` });
      return;
    }
    if (Buffer.byteLength(JSON.stringify(value), 'utf8') > MAX_METADATA_BYTES)
      ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_METADATA_BYTES} bytes as JSON` });
  })
  .describe(
    `Any JSON object, kept as given: at most ${MAX_METADATA_BYTES} bytes as JSON and ${MAX_METADATA_DEPTH} levels deep; ` +
      'no key `__proto__`; every string and key well-formed Unicode without U+0000',
  );

export const participantSchema = z.strictObject({
  participant_id: idSchema,
  group_id: idSchema.optional(),
  total_time_ms: durationMs.optional(),
  time_control: timeControlSchema
    .optional()
    .describe("per_participant: this participant's own, overriding the session's"),
});

export const cueSchema = z.strictObject({
  label: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_CUE_LABEL_LENGTH, `must be at most ${MAX_CUE_LABEL_LENGTH} characters`),
  duration_ms: durationMs.describe('The time planned for this cue'),
  participant_id: idSchema
    .optional()
    .describe('A participant of the session, active while this cue runs; without it, the turn order goes on'),
});

export const groupSchema = z.strictObject({
  group_id: idSchema,
  total_time_ms: durationMs.optional(),
  time_control: timeControlSchema.optional().describe("This group's own, overriding the session's"),
});

export const createSessionSchema = z.strictObject({
  session_id: idSchema.optional(),
  sync_mode: z.enum(SYNC_MODES, { error: `must be one of ${SYNC_MODES.join(', ')}` }),
  participants: z
    .array(participantSchema)
    .min(1, 'must list at least one participant')
    .max(MAX_PARTICIPANTS, `must list at most ${MAX_PARTICIPANTS} participants`),
  groups: z.array(groupSchema).max(MAX_GROUPS, `must list at most ${MAX_GROUPS} groups`).optional(),
  total_time_ms: durationMs.optional(),
  time_per_cycle_ms: durationMs.optional(),
  cycles: z
    .array(cueSchema)
    .min(1, 'must list at least one cue')
    .max(MAX_CUES, `must list at most ${MAX_CUES} cues`)
    .optional()
    .describe(
      "per_cycle, instead of time_per_cycle_ms: a cue list (run sheet) run in order; each cue ends with a switch (or its deadline under auto_advance), and the state reports each cue's planned and actual time and the drift",
    ),
  increment_ms: incrementMs.optional(),
  max_time_ms: durationMs.optional(),
  on_expire: z
    .enum(ON_EXPIRE_POLICIES, { error: `must be one of ${ON_EXPIRE_POLICIES.join(', ')}` })
    .optional(),
  time_control: timeControlSchema
    .optional()
    .describe("per_participant, per_group: every bank's time control"),
  lag_compensation: z
    .boolean()
    .optional()
    .describe(
      'per_participant, per_group: a switch sent over the WebSocket is charged its elapsed time less its time in transit, up to a quota that grows with each move (default false)',
    ),
  concurrent: z
    .boolean()
    .optional()
    .describe(
      "per_participant, per_group: every participant's (group's) clock runs at once from start; pause, resume, complete and adjust take a participant_id (group_id) to act on one (default false)",
    ),
  phases: z
    .array(
      z.strictObject({
        // The pattern and the rule between thresholds are the engine's: one message for both transports.
        name: z.string().describe('[a-z0-9_-]{1,32}, each name once; `overtime` is reserved'),
        remaining_ms: durationMs.describe('The clock enters this phase when its remaining time reaches this'),
      }),
    )
    .min(1, 'must list at least one phase')
    .max(MAX_PHASES, `must list at most ${MAX_PHASES} phases`)
    .optional()
    .describe(
      'Named thresholds of every clock, remaining_ms strictly decreasing (e.g. warning 60000, critical 10000)',
    ),
  on_disconnect: z
    .strictObject({
      grace_ms: z
        .number()
        .int('must be an integer number of milliseconds')
        .min(MIN_DISCONNECT_GRACE_MS, `must be at least ${MIN_DISCONNECT_GRACE_MS}`)
        .max(MAX_DISCONNECT_GRACE_MS, `must be at most ${MAX_DISCONNECT_GRACE_MS}`)
        .describe("How long a participant's last connection may be gone before its clock is paused"),
      action: z
        .enum(DISCONNECT_ACTIONS, { error: `must be one of ${DISCONNECT_ACTIONS.join(', ')}` })
        .describe('What the server does then'),
    })
    .optional()
    .describe(
      'Disconnect policy: pauses the clock of a participant (known by its participant token) whose last WebSocket connection has been gone for grace_ms; the state says why (pause_reason). Reconnecting does not resume. Inert without participant tokens (auth off)',
    ),
  metadata: metadata.optional(),
});

/** `start_at` is a server time in epoch ms; whether it is acceptable (past, too far) is the engine's call. */
export const startSchema = z.strictObject({
  start_at: z
    .number()
    .int('must be an integer epoch time in milliseconds')
    .min(0, 'must not be negative')
    .optional(),
  expected_version: expectedVersion,
});

export const switchSchema = z.strictObject({
  expected_version: expectedVersion,
  next_participant_id: idSchema
    .optional()
    .describe(
      'Admins only: who takes the turn (never the participant who has it). Without it, the next participant in order who is not out',
    ),
  next_cycle_index: z
    .number()
    .int('must be an integer')
    .min(0, 'must not be negative')
    .max(MAX_CUES - 1, `must be below ${MAX_CUES}`)
    .optional()
    .describe(
      'per_cycle cue lists, admins only: the cue to run next, later than the running one (the cues in between are skipped). Without it, the next cue',
    ),
});

/** pause, resume and complete: concurrent sessions may name one clock. */
export const versionOnlySchema = z
  .strictObject({
    participant_id: idSchema
      .optional()
      .describe("concurrent sessions only: act on this participant's clock (per_group: its group's)"),
    group_id: idSchema.optional().describe("concurrent per_group sessions only: act on this group's clock"),
    expected_version: expectedVersion,
  })
  .refine((body) => body.participant_id === undefined || body.group_id === undefined, {
    message: 'give participant_id or group_id, not both',
    path: ['group_id'],
  });

export const adjustSchema = z
  .strictObject({
    participant_id: idSchema.optional(),
    group_id: idSchema.optional(),
    delta_ms: z
      .number()
      .int('must be an integer number of milliseconds')
      .min(-MAX_DURATION_MS, `must be at least -${MAX_DURATION_MS} ms (30 days)`)
      .max(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS} ms (30 days)`)
      .refine((value) => value !== 0, 'must not be 0'),
    expected_version: expectedVersion,
  })
  // At most one: global, per_cycle and count_up have one bank, so naming nobody is allowed there;
  // which target a mode needs is the engine's rule.
  .refine((body) => body.participant_id === undefined || body.group_id === undefined, {
    message: 'give participant_id or group_id, not both',
    path: ['group_id'],
  });

/** reset: the whole session, back to its first clocks. */
export const resetSchema = z.strictObject({ expected_version: expectedVersion });

/** POST /v1/sessions/batch: every session as a single create takes it, and one start_at for all. */
export const createBatchSchema = z.strictObject({
  sessions: z
    .array(createSessionSchema)
    .min(1, 'must list at least one session')
    .max(MAX_BATCH_SESSIONS, `must list at most ${MAX_BATCH_SESSIONS} sessions`),
  start_at: startSchema.shape.start_at.describe(
    'Every session is created and started at this server time (epoch ms; not in the past, at most 30 days ahead); pending when absent',
  ),
});

/** The batch body, or VALIDATION_ERROR naming each bad session's index (details.indexes). */
export function parseBatchInput(value: unknown): z.output<typeof createBatchSchema> {
  try {
    return parseInput(createBatchSchema, value);
  } catch (err) {
    if (!(err instanceof SyncKairosError) || err.code !== 'VALIDATION_ERROR') throw err;
    throw batchValidationError((err.details as { issues: ValidationIssue[] }).issues);
  }
}

/** Query of DELETE /v1/sessions/:id: `?expected_version=3`. */
export const deleteQuerySchema = z.strictObject({
  expected_version: z
    .string()
    .regex(/^[1-9]\d{0,14}$/, 'must be a positive integer')
    .transform(Number)
    .optional(),
});

/** A page size in a query: `?limit=50`, 1 … max. */
export function pageLimitSchema(max: number) {
  return z
    .string()
    .regex(/^\d{1,6}$/, 'must be an integer')
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, `must be between 1 and ${max}`);
}

/** A page cursor in a query: what `decode` makes of it, refused when it makes nothing (null). */
export function pageCursorSchema<T>(decode: (text: string) => T | null) {
  return z.string().transform((text, ctx) => {
    const cursor = decode(text);
    if (cursor === null) {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor this endpoint returned' });
      return z.NEVER;
    }
    return cursor;
  });
}

export const DEFAULT_SESSIONS_LIMIT = 100;
export const MAX_SESSIONS_LIMIT = 500;

/** Where a page of GET /v1/sessions ends, and the status filter it was read with. */
export interface SessionListCursor {
  afterId: string;
  status: SessionStatus | null;
}

/** An opaque cursor: the last id of the page and the filter, so it cannot be used with another. */
export function encodeSessionListCursor(cursor: SessionListCursor): string {
  return Buffer.from(`${cursor.status ?? ''}/${cursor.afterId}`).toString('base64url');
}

/** What a cursor stands for, or null when it is not one this endpoint returned. */
export function decodeSessionListCursor(text: string): SessionListCursor | null {
  // Base64url of a status, '/' and an id: at most 4/3 × (9 + 1 + MAX_ID_LENGTH) characters.
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return null;
  const match = /^([a-z]*)\/(.+)$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (match === null || !idSchema.safeParse(match[2]).success) return null;
  const status = match[1] === '' ? null : SESSION_STATUSES.find((known) => known === match[1]);
  if (status === undefined) return null;
  const cursor = { afterId: match[2]!, status };
  // Only the canonical spelling: no padding or trailing bits smuggled in.
  return encodeSessionListCursor(cursor) === text ? cursor : null;
}

/** Query of GET /v1/sessions: `?status=running&limit=50&cursor=…`. */
export const listSessionsQuerySchema = z
  .strictObject({
    status: z.enum(SESSION_STATUSES, { error: `must be one of ${SESSION_STATUSES.join(', ')}` }).optional(),
    limit: pageLimitSchema(MAX_SESSIONS_LIMIT).optional(),
    cursor: pageCursorSchema(decodeSessionListCursor).optional(),
  })
  .superRefine((query, ctx) => {
    if (query.cursor !== undefined && query.cursor.status !== (query.status ?? null)) {
      ctx.addIssue({
        code: 'custom',
        path: ['cursor'],
        message: 'was returned for another status filter: pass the same status as the first page',
      });
    }
  });

function describeType(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  return `a ${typeof input}`;
}

/** Plain messages for the issues whose message the schemas above do not set themselves. */
function plainMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return 'is required';
  const expected = issue.expected === 'record' ? 'object' : issue.expected;
  return `must be ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}, got ${describeType(issue.input)}`;
}

/** Zod's issues in the one error shape: a dotted path (`participants.1.participant_id`) and why. */
export function toValidationIssues(error: z.ZodError, pathPrefix: readonly string[] = []): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const issue of error.issues) {
    const path = [...pathPrefix, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        issues.push({ path: [...path, key].join('.'), message: 'is not a known field' });
    } else {
      issues.push({ path: path.join('.'), message: issue.message });
    }
  }
  return issues;
}

/**
 * Parses `value` or throws VALIDATION_ERROR; `pathPrefix` names where it came from (e.g. `query`).
 * Every string and key of every request must be text the audit trail can store: checked here,
 * once for all fields, so a field added later cannot forget it.
 */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  pathPrefix: readonly string[] = [],
): z.output<T> {
  const textIssues = jsonTextIssues(value, pathPrefix);
  const result = schema.safeParse(value, { error: plainMessage });
  if (result.success && textIssues.length === 0) return result.data;
  const schemaIssues = result.success ? [] : toValidationIssues(result.error, pathPrefix);
  throw validationError([...textIssues, ...schemaIssues]);
}
