// The time_control field of a create request (session-wide, a participant's, a group's), checked
// at the edge: each control's fields, types and ranges. Rules between fields (a stages list ends
// with an unlimited stage, max_ms ≥ initial_ms) are the control's own (src/clock/controls).
import { z } from 'zod';
import { TIME_CONTROL_TYPES } from '../types/timeControl.js';

const MAX_DURATION_MS = 30 * 24 * 3600 * 1000; // as requests.ts: 30 days
export const MAX_PERIODS = 100;
export const MAX_MOVES = 1000;
export const MAX_STAGES = 20;

const ms = (min: 0 | 1, meaning: string) =>
  z
    .number()
    .int('must be an integer number of milliseconds')
    .min(min, min === 0 ? 'must not be negative' : 'must be greater than 0')
    .max(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS} ms (30 days)`)
    .describe(meaning);

const count = (max: number, meaning: string) =>
  z
    .number()
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`)
    .describe(meaning);

const initialMs = ms(1, 'The bank each clock starts with');
/** byo-yomi and Canadian may start straight in overtime. */
const mainTimeMs = ms(0, 'Main time before the periods (0: straight into them)');

export const fischerSchema = z
  .strictObject({
    type: z.literal('fischer'),
    initial_ms: initialMs,
    increment_ms: ms(0, 'Added after each move made in time'),
    max_ms: ms(1, 'The increment never takes the bank above this (at least initial_ms)').optional(),
  })
  .describe('Fischer increment');

export const bronsteinSchema = z
  .strictObject({
    type: z.literal('bronstein'),
    initial_ms: initialMs,
    delay_ms: ms(1, 'Given back after each move: what the move used, up to this'),
  })
  .describe('Bronstein delay: the clock runs at once; a move gets back min(used, delay_ms)');

export const delaySchema = z
  .strictObject({
    type: z.literal('delay'),
    initial_ms: initialMs,
    delay_ms: ms(1, 'How long the bank stands still at the start of each turn'),
  })
  .describe('Simple (US) delay: the flag falls at turn start + delay_ms + bank');

export const stageSchema = z
  .strictObject({
    moves: count(MAX_MOVES, "Moves in this stage (that clock's own); left out on the last stage").optional(),
    time_ms: ms(1, "Added to the bank when the stage begins (the first stage's is the initial time)"),
    increment_ms: ms(0, 'Added after each move made in this stage').optional(),
    delay_ms: ms(1, 'Simple delay of each turn in this stage').optional(),
  })
  .describe('One stage of a stages control');

export const stagesSchema = z
  .strictObject({
    type: z.literal('stages'),
    stages: z
      .array(stageSchema)
      .min(1, 'must list at least one stage')
      .max(MAX_STAGES, `must list at most ${MAX_STAGES} stages`),
  })
  .describe("Stages (PGN's 40/5400+30:1800+30): completing a stage's moves adds the next stage's time");

export const byoyomiSchema = z
  .strictObject({
    type: z.literal('byoyomi'),
    initial_ms: mainTimeMs,
    period_ms: ms(1, 'Length of each period; a move inside a period refills it'),
    periods: count(MAX_PERIODS, 'Periods after main time; each one that runs out costs one'),
  })
  .describe('Byo-yomi: main time, then periods; the flag falls when the last period runs out');

export const canadianSchema = z
  .strictObject({
    type: z.literal('canadian'),
    initial_ms: mainTimeMs,
    period_ms: ms(1, 'Length of each period'),
    moves_per_period: count(
      MAX_MOVES,
      'Moves to make in each period; done in time, the period starts afresh',
    ),
  })
  .describe('Canadian overtime: main time, then moves_per_period moves in each period_ms');

export const hourglassSchema = z
  .strictObject({
    type: z.literal('hourglass'),
    initial_ms: initialMs,
  })
  .describe('Hourglass (two clocks): what the mover spends, the other gains');

export const timeControlSchema = z
  .discriminatedUnion(
    'type',
    [
      fischerSchema,
      bronsteinSchema,
      delaySchema,
      stagesSchema,
      byoyomiSchema,
      canadianSchema,
      hourglassSchema,
    ],
    {
      error: (issue) =>
        issue.code === 'invalid_union' ? `must be one of ${TIME_CONTROL_TYPES.join(', ')}` : undefined,
    },
  )
  .describe(
    'A time control (per_participant, per_group); total_time_ms + increment_ms is the shorthand for fischer',
  );
