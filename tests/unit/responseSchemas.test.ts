// The response schemas behind the OpenAPI document describe what the engine really sends: views
// of every mode and status parse with the strict SessionView schema, and the types are equal.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { SyncEngine } from '../../src/engine/SyncEngine.js';
import type { AuditEventView } from '../../src/audit/AuditStore.js';
import type { sessionEventViewSchema } from '../../src/schemas/responses.js';
import { sessionViewSchema } from '../../src/schemas/responses.js';
import { MemoryStateStore } from '../../src/state/MemoryStateStore.js';
import type { CreateSessionInput, SessionView } from '../../src/types/session.js';
import { TIME_CONTROL_TYPES, type TimeControl } from '../../src/types/timeControl.js';

class ManualClock {
  constructor(public now = 1_700_000_000_000) {}
  nowMs(): number {
    return this.now;
  }
}

async function viewsOf(input: CreateSessionInput): Promise<SessionView[]> {
  const clock = new ManualClock();
  const store = new MemoryStateStore();
  const engine = new SyncEngine({ store, clock });
  try {
    const views = [await engine.createSession(input)];
    const id = views[0]!.session_id;
    views.push(await engine.execute(id, { type: 'start' }));
    clock.now += 1_500;
    views.push(await engine.execute(id, { type: 'switch' }));
    clock.now += 500;
    views.push(await engine.execute(id, { type: 'pause' }));
    views.push(await engine.execute(id, { type: 'resume' }));
    clock.now += 10 * 60_000; // far past every clock: the flag falls
    views.push(await engine.getSession(id));
    return views;
  } finally {
    await store.close();
  }
}

const participants = [
  { participant_id: 'a', group_id: 'g1' },
  { participant_id: 'b', group_id: 'g2' },
];

const MODES: Array<[string, CreateSessionInput]> = [
  [
    'per_participant',
    {
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      total_time_ms: 60_000,
      increment_ms: 1_000,
      metadata: { table: 7 },
    },
  ],
  [
    'per_participant with lag_compensation',
    {
      sync_mode: 'per_participant',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      total_time_ms: 60_000,
      lag_compensation: true,
    },
  ],
  [
    'per_cycle',
    {
      sync_mode: 'per_cycle',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      time_per_cycle_ms: 30_000,
      on_expire: 'auto_advance',
    },
  ],
  [
    'per_cycle with a cue list',
    {
      sync_mode: 'per_cycle',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      cycles: [
        { label: 'Welcome', duration_ms: 30_000, participant_id: 'b' },
        { label: 'Talk', duration_ms: 60_000 },
        { label: 'Close', duration_ms: 10_000 },
      ],
      on_expire: 'auto_advance',
    },
  ],
  [
    'per_cycle with a cue list in overtime',
    {
      sync_mode: 'per_cycle',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      cycles: [
        { label: 'Welcome', duration_ms: 30_000 },
        { label: 'Talk', duration_ms: 60_000 },
      ],
      on_expire: 'overtime',
    },
  ],
  ['per_group', { sync_mode: 'per_group', participants, total_time_ms: 60_000 }],
  [
    'global',
    {
      sync_mode: 'global',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      total_time_ms: 60_000,
    },
  ],
  [
    'count_up',
    {
      sync_mode: 'count_up',
      participants: [{ participant_id: 'a' }, { participant_id: 'b' }],
      max_time_ms: 120_000,
    },
  ],
  [
    'count_up without a limit',
    { sync_mode: 'count_up', participants: [{ participant_id: 'a' }, { participant_id: 'b' }] },
  ],
];

describe('the SessionView response schema', () => {
  it.each(MODES)(
    'parses every view the engine sends in %s, from creation to expiry',
    async (_name, input) => {
      const views = await viewsOf(input);
      for (const view of views) {
        const parsed = sessionViewSchema.safeParse(JSON.parse(JSON.stringify(view)));
        expect(
          parsed.success,
          `${view.event} v${view.version}: ${JSON.stringify(parsed.error?.issues)}`,
        ).toBe(true);
      }
      expect(new Set(views.map((view) => view.status))).toContain('running');
    },
  );

  it.each(CONTROLS)(
    'parses every view the engine sends under time_control %s, from creation to expiry',
    async (type) => {
      const time_control = controlOf(type);
      const inputs: CreateSessionInput[] = [
        {
          sync_mode: 'per_participant',
          participants: [{ participant_id: 'a' }, { participant_id: 'b', time_control }],
          time_control,
        },
        { sync_mode: 'per_group', participants, groups: [{ group_id: 'g2', time_control }], time_control },
      ];
      for (const input of inputs) {
        for (const view of await viewsOf(input)) {
          const parsed = sessionViewSchema.safeParse(JSON.parse(JSON.stringify(view)));
          expect(
            parsed.success,
            `${view.event} v${view.version}: ${JSON.stringify(parsed.error?.issues)}`,
          ).toBe(true);
        }
      }
    },
  );

  it('refuses a field the engine does not send, so an undocumented addition fails the test above', () => {
    const view = { ...MODES_VIEW, surprise: 1 };
    expect(sessionViewSchema.safeParse(view).success).toBe(false);
  });

  it('has exactly the SessionView type', () => {
    expectTypeOf<z.output<typeof sessionViewSchema>>().toEqualTypeOf<SessionView>();
  });

  it('the audit record schema has exactly the type the events endpoint sends', () => {
    expectTypeOf<z.output<typeof sessionEventViewSchema>>().toEqualTypeOf<AuditEventView>();
  });
});

const CONTROLS = TIME_CONTROL_TYPES;

function controlOf(type: TimeControl['type']): TimeControl {
  switch (type) {
    case 'fischer':
      return { type, initial_ms: 60_000, increment_ms: 1_000, max_ms: 90_000 };
    case 'bronstein':
    case 'delay':
      return { type, initial_ms: 60_000, delay_ms: 2_000 };
    case 'stages':
      return {
        type,
        stages: [
          { moves: 1, time_ms: 60_000, delay_ms: 500 },
          { time_ms: 1_000, increment_ms: 100 },
        ],
      };
    case 'byoyomi':
      return { type, initial_ms: 1_000, period_ms: 30_000, periods: 3 };
    case 'canadian':
      return { type, initial_ms: 1_000, period_ms: 60_000, moves_per_period: 5 };
    case 'hourglass':
      return { type, initial_ms: 60_000 };
  }
}

const MODES_VIEW: SessionView = {
  session_id: 's',
  sync_mode: 'global',
  status: 'pending',
  version: 1,
  event: 'created',
  server_time: 1,
  active_participant_id: 'a',
  cycle_started_at: null,
  start_at: null,
  deadline_at: null,
  total_time_ms: 1000,
  time_per_cycle_ms: null,
  increment_ms: 0,
  max_time_ms: null,
  on_expire: 'end_session',
  participants: [],
  time_remaining_ms: 1000,
  metadata: null,
  created_at: 1,
  updated_at: 1,
};
