// Response shapes as zod schemas, for the OpenAPI document. A unit test parses real engine views
// with them (strict objects: an added or dropped field fails), and the types must equal
// SessionView's, so the document cannot drift from what the server sends.
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../types/errors.js';
import {
  CLOCK_STATUSES,
  DISCONNECT_ACTIONS,
  ON_EXPIRE_POLICIES,
  PAUSE_REASONS,
  SESSION_EVENTS,
  SESSION_STATUSES,
  SYNC_MODES,
} from '../types/session.js';
import { timeControlSchema } from './timeControl.js';

const epochMs = z.number().int().describe('An instant: epoch milliseconds of the server clock');
const durationMs = z.number().int().min(0).describe('A duration in milliseconds');

/** What a clock face needs beyond time_remaining_ms, each only where the time control has it. */
const clockFaceFields = {
  delay_remaining_ms: durationMs
    .optional()
    .describe(
      "delay, bronstein, stages: what is left of the current turn's delay (a waiting clock shows the full delay of its next turn)",
    ),
  periods_left: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('byoyomi: periods left, the current one included (0 once the flag fell)'),
  period_remaining_ms: durationMs
    .optional()
    .describe('byoyomi, canadian: what is left of the current period (the full period during main time)'),
  moves_left_in_period: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('canadian: moves still to make in the current period'),
  stage_index: z.number().int().min(0).optional().describe('stages: the current stage, from 0'),
  moves_to_next_stage: z
    .number()
    .int()
    .min(1)
    .nullable()
    .optional()
    .describe("stages: moves still to make before the next stage's time is added; null in the last stage"),
};

/** Remaining time: below zero only in overtime. */
const remainingMs = z.number().int().describe('A remaining time in milliseconds; negative in overtime');

/** A clock's phase fields, present when the session has phases or on_expire overtime. */
const phaseFields = {
  phase: z
    .string()
    .nullable()
    .optional()
    .describe(
      'The last phase threshold this clock crossed (a pure function of its remaining time), `overtime` below zero, or null; present when the session has phases or on_expire overtime',
    ),
  next_phase_at: epochMs
    .nullable()
    .optional()
    .describe(
      "Server time of this clock's next phase crossing while it runs; null when it waits or none is ahead",
    ),
};

const clockStatus = z
  .enum(CLOCK_STATUSES)
  .optional()
  .describe("concurrent sessions: this clock's own status (per_group: the group's)");

export const participantViewSchema = z.strictObject({
  participant_id: z.string(),
  group_id: z.string().nullable(),
  time_remaining_ms: remainingMs
    .nullable()
    .describe(
      "As of server_time, the bank as the time control shows it (byoyomi, canadian: the main time; delay: the bank, which stands still during the delay; per_group: the group's; negative in overtime); null in count_up without max_time_ms",
    ),
  time_used_ms: durationMs,
  cycle_count: z.number().int().min(0).describe('Turns this participant has finished'),
  is_active: z
    .boolean()
    .describe('Whether this clock runs now (the turn holder; concurrent: its own clock runs)'),
  has_expired: z.boolean(),
  status: clockStatus,
  ...phaseFields,
  ...clockFaceFields,
  time_control: timeControlSchema.optional().describe("This participant's own time control, if it has one"),
  lag_ms: durationMs
    .optional()
    .describe(
      "lag_compensation sessions: this participant's last move's time in transit, as the server took it",
    ),
  lag_comp_ms: durationMs
    .optional()
    .describe(
      'lag_compensation sessions: what that move was not charged: min(lag_ms, quota, the time it took)',
    ),
  lag_quota_ms: durationMs
    .optional()
    .describe(
      'lag_compensation sessions: the compensation credit left; it grows with each move, up to a cap',
    ),
});

export const groupViewSchema = z.strictObject({
  group_id: z.string(),
  time_remaining_ms: remainingMs.describe(
    'As of server_time, the bank as the time control shows it (negative in overtime)',
  ),
  time_used_ms: durationMs,
  has_expired: z.boolean(),
  status: clockStatus,
  ...phaseFields,
  ...clockFaceFields,
  time_control: timeControlSchema.optional().describe("This group's own time control, if it has one"),
});

export const lapViewSchema = z.strictObject({
  participant_id: z.string(),
  lap_ms: durationMs,
  elapsed_ms: durationMs.describe('Session elapsed time when the lap was recorded'),
});

export const cueViewSchema = z.strictObject({
  label: z.string(),
  participant_id: z
    .string()
    .nullable()
    .describe('The participant active while this cue runs; null: the turn order decides'),
  planned_ms: durationMs.describe('The duration_ms the cue was created with'),
  actual_ms: durationMs
    .nullable()
    .describe(
      "Wall-clock time from the cue's start to its end (pauses and adjusts included); null until it ends, and for a skipped cue",
    ),
  over_under_ms: z
    .number()
    .int()
    .nullable()
    .describe(
      'actual_ms − planned_ms: positive when the cue ran over, negative when it ended early; null until it ends',
    ),
});

export const sessionViewSchema = z
  .strictObject({
    session_id: z.string(),
    sync_mode: z.enum(SYNC_MODES),
    status: z.enum(SESSION_STATUSES),
    version: z.number().int().min(1).describe('1 at creation, +1 with every change (expiries included)'),
    event: z.enum(SESSION_EVENTS).describe('What made this version'),
    server_time: epochMs.describe('When this answer was computed; every *_remaining_ms is as of it'),
    active_participant_id: z.string().nullable(),
    cycle_started_at: epochMs.nullable().describe('Start of the current turn'),
    start_at: epochMs.nullable(),
    deadline_at: epochMs
      .nullable()
      .describe(
        'The true flag instant of the running clock (after any delay and byo-yomi periods), or null when nothing runs toward a limit',
      ),
    total_time_ms: durationMs.nullable(),
    time_per_cycle_ms: durationMs.nullable(),
    increment_ms: durationMs,
    max_time_ms: durationMs.nullable(),
    on_expire: z.enum(ON_EXPIRE_POLICIES),
    time_control: timeControlSchema
      .optional()
      .describe('per_participant, per_group: the session-wide time control, when the session has one'),
    lag_compensation: z
      .literal(true)
      .optional()
      .describe('Present when moves over the WebSocket are charged less their time in transit'),
    concurrent: z
      .literal(true)
      .optional()
      .describe("Present when every participant's (per_group: group's) clock runs at once"),
    phases: z
      .array(z.strictObject({ name: z.string(), remaining_ms: durationMs }))
      .optional()
      .describe('The phase thresholds, as created'),
    on_disconnect: z
      .strictObject({ grace_ms: durationMs, action: z.enum(DISCONNECT_ACTIONS) })
      .optional()
      .describe('The disconnect policy, as created'),
    pause_reason: z
      .enum(PAUSE_REASONS)
      .optional()
      .describe(
        "On the version the server paused by itself (event paused) only: why; `disconnected`: pause_participant_id's last connection was gone for on_disconnect.grace_ms",
      ),
    pause_participant_id: z
      .string()
      .optional()
      .describe('With pause_reason: the participant whose clock (or turn) was paused'),
    ...phaseFields,
    participants: z.array(participantViewSchema),
    groups: z.array(groupViewSchema).optional().describe('per_group only'),
    time_remaining_ms: remainingMs
      .nullable()
      .optional()
      .describe(
        "global: the session bank (negative in overtime); count_up: left to max_time_ms (null without one); per_cycle cue lists: the running cue's (negative in overtime)",
      ),
    elapsed_ms: durationMs.optional().describe('count_up only'),
    laps: z
      .array(lapViewSchema)
      .max(100)
      .optional()
      .describe('count_up only: the last 100 laps, oldest first (the audit trail keeps every lap)'),
    lap_count: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('count_up only: every lap recorded, including those no longer in `laps`'),
    cycle_index: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        'per_cycle cue lists: the running cue, from 0 (before start: the first; once ended: the last that ran)',
      ),
    cycles: z
      .array(cueViewSchema)
      .optional()
      .describe('per_cycle cue lists: every cue, as planned and, once it ended, as it ran'),
    over_under_ms: z
      .number()
      .int()
      .optional()
      .describe(
        'per_cycle cue lists: the drift, the sum of over_under_ms of the cues that ended (positive: behind schedule)',
      ),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    created_at: epochMs,
    updated_at: epochMs,
  })
  .describe('The state of a session as of server_time');

export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z
        .unknown()
        .optional()
        .describe(
          'VALIDATION_ERROR: { issues: [{ path, message }] }; VERSION_CONFLICT: { expected_version, current_version }; RATE_LIMITED: { retry_after_s }; STORE_UNAVAILABLE: { store }',
        ),
    }),
  })
  .describe('The one error shape of every endpoint');

export const timeResponseSchema = z.strictObject({ server_time: epochMs });

export const healthResponseSchema = z.strictObject({ status: z.literal('ok') });

export const readyResponseSchema = z.strictObject({
  status: z.literal('ready'),
  store: z.string().describe('memory or redis'),
});

const clockSnapshotSchema = z
  .strictObject({
    participants: z.record(z.string(), durationMs.nullable()).describe('Remaining time per participant'),
    groups: z.record(z.string(), durationMs).optional().describe('per_group only'),
    session: durationMs
      .nullable()
      .optional()
      .describe(
        "global: the session bank; count_up: left to max_time_ms; per_cycle cue lists: the running cue's",
      ),
  })
  .describe("Every clock's remaining time at one instant");

/** One audit record of GET /v1/sessions/:id/events: one per session version (AuditEventView). */
export const sessionEventViewSchema = z.strictObject({
  session_id: z.string(),
  version: z.number().int().min(1),
  event: z.enum(SESSION_EVENTS),
  actor: z
    .string()
    .nullable()
    .describe("The token's subject that made the change; null for the server (expiries)"),
  participant_id: z.string().nullable().describe('The participant the change concerned'),
  at: epochMs.describe('Server time at which the change took effect (the deadline, for expiries)'),
  clocks_before: clockSnapshotSchema,
  clocks_after: clockSnapshotSchema,
  state: sessionViewSchema.describe('The state right after the change, as of `at`'),
  recorded_at: epochMs.describe('When the audit store wrote the record'),
});

/** POST /v1/sessions/batch: every session created, in request order. */
export const sessionBatchResponseSchema = z.strictObject({
  sessions: z.array(sessionViewSchema).describe('The states, in the order the request listed the sessions'),
});

export const sessionListResponseSchema = z.strictObject({
  sessions: z.array(sessionViewSchema).describe('Ordered by session_id'),
  next_cursor: z
    .string()
    .nullable()
    .describe('Pass as `cursor` (with the same `status`) for the next page; null on the last'),
});

export const sessionEventsResponseSchema = z.strictObject({
  events: z.array(sessionEventViewSchema),
  next_cursor: z
    .string()
    .nullable()
    .describe('Pass as `cursor` (with the same `lifetime`) for the next page; null on the last'),
  lifetime: z
    .number()
    .int()
    .min(1)
    .describe(
      'Which lifetime of the id these events are of: 1 is its first creation, each after a DELETE adds one',
    ),
  lifetimes: z
    .number()
    .int()
    .min(1)
    .describe('How many lifetimes the id has had; the last is the current one'),
});
