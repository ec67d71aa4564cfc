// Random time controls and sessions that use them, for property tests.
import fc from 'fast-check';
import type { CreateSessionInput } from '../../src/types/session.js';
import type { Stage, TimeControl } from '../../src/types/timeControl.js';

const ms = (min: number, max: number) => fc.integer({ min, max });
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Drops the keys whose value is undefined, as a JSON request would. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

const stage = (last: boolean): fc.Arbitrary<Stage> =>
  fc
    .record({
      moves: last ? fc.constant(undefined) : fc.integer({ min: 1, max: 4 }),
      time_ms: ms(1, 10_000),
      increment_ms: optional(ms(0, 2_000)),
      delay_ms: optional(ms(1, 2_000)),
    })
    .map(defined);

/** Every control but hourglass (which pairs exactly two clocks). */
export const singleClockControl: fc.Arbitrary<TimeControl> = fc.oneof(
  fc
    .record({ initial_ms: ms(1, 20_000), increment_ms: ms(0, 3_000), extra: optional(ms(0, 10_000)) })
    .map(({ initial_ms, increment_ms, extra }) =>
      defined({
        type: 'fischer' as const,
        initial_ms,
        increment_ms,
        max_ms: extra === undefined ? undefined : initial_ms + extra,
      }),
    ),
  fc.record({ type: fc.constant('bronstein' as const), initial_ms: ms(1, 20_000), delay_ms: ms(1, 5_000) }),
  fc.record({ type: fc.constant('delay' as const), initial_ms: ms(1, 20_000), delay_ms: ms(1, 5_000) }),
  fc
    .tuple(fc.array(stage(false), { maxLength: 2 }), stage(true))
    .map(([first, last]) => ({ type: 'stages' as const, stages: [...first, last] })),
  fc.record({
    type: fc.constant('byoyomi' as const),
    initial_ms: ms(0, 10_000),
    period_ms: ms(1, 3_000),
    periods: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    type: fc.constant('canadian' as const),
    initial_ms: ms(0, 10_000),
    period_ms: ms(1, 5_000),
    moves_per_period: fc.integer({ min: 1, max: 3 }),
  }),
);

export const hourglassControl: fc.Arbitrary<TimeControl> = fc.record({
  type: fc.constant('hourglass' as const),
  initial_ms: ms(1, 20_000),
});

export const anyControl: fc.Arbitrary<TimeControl> = fc.oneof(singleClockControl, hourglassControl);

const ids = ['p0', 'p1', 'p2'];

/**
 * A per_participant or per_group session under a random session-wide control, some banks with
 * their own (handicaps); hourglass sessions have exactly two banks.
 */
export const controlledSession: fc.Arbitrary<CreateSessionInput> = fc
  .record({
    perGroup: fc.boolean(),
    skip: fc.boolean(),
    hourglass: fc.boolean(),
    control: singleClockControl,
    hourglassControl,
    count: fc.integer({ min: 1, max: 3 }),
    own: fc.array(optional(singleClockControl), { minLength: 3, maxLength: 3 }),
  })
  .map(({ perGroup, skip, hourglass, control, hourglassControl, count, own }) => {
    const on_expire = skip ? ('skip_participant' as const) : ('end_session' as const);
    if (hourglass) {
      // Two sides: two participants, or three participants in two groups.
      const participants = perGroup
        ? ids.map((participant_id, i) => ({ participant_id, group_id: `g${i % 2}` }))
        : ids.slice(0, 2).map((participant_id) => ({ participant_id }));
      return {
        sync_mode: perGroup ? ('per_group' as const) : ('per_participant' as const),
        participants,
        time_control: hourglassControl,
      };
    }
    if (perGroup) {
      const participants = ids
        .slice(0, count)
        .map((participant_id, i) => ({ participant_id, group_id: `g${i % 2}` }));
      const groupIds = [...new Set(participants.map((p) => p.group_id))];
      return {
        sync_mode: 'per_group' as const,
        participants,
        groups: groupIds.map((group_id, i) => defined({ group_id, time_control: own[i] })),
        time_control: control,
        on_expire,
      };
    }
    return {
      sync_mode: 'per_participant' as const,
      participants: ids
        .slice(0, count)
        .map((participant_id, i) => defined({ participant_id, time_control: own[i] })),
      time_control: control,
      on_expire,
    };
  });
