// Embedded mode keeps its sessions in DATA_DIR: a change is on disk before it is acknowledged, so
// an instance SIGKILLed right after 1,000 acknowledged changes restarts with every session at its
// last acknowledged version, running clocks where they would be now, and a deadline that passed
// while it was down applied once at startup, stamped at the deadline.
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbSessionLog } from '../../src/state/LmdbSessionLog.js';
import { encodeState } from '../../src/state/stateCodec.js';
import type { SessionView } from '../../src/types/session.js';
import { chessClockInput, sessionStateFixture } from '../helpers/fixtures.js';
import { callJson } from '../helpers/http.js';
import { startHttpService, stopAllServices } from '../helpers/serviceProcess.js';
import { testDataDir } from '../helpers/testDataDir.js';

const SESSIONS = 20;
/** Created (v1), started (v2), then switches up to this version: 20 × 50 = 1,000 changes. */
const VERSIONS_PER_SESSION = 50;
/** The bank of the clock that runs out while the instance is down. */
const SHORT_BANK_MS = 1_500;
const STORED_SESSIONS = 10_000;

type Instance = Awaited<ReturnType<typeof startHttpService>>;

const startInstance = (dataDir: string): Promise<Instance> => startHttpService({ DATA_DIR: dataDir });

async function kill9(instance: Instance): Promise<void> {
  instance.service.proc.kill('SIGKILL');
  expect((await instance.service.exit).signal).toBe('SIGKILL');
}

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') {
    process.stderr.write(`${JSON.stringify(context.task.result.errors?.[0]?.message)}\n`);
  }
  await stopAllServices();
});

describe('embedded durability', () => {
  it('SIGKILLed right after 1,000 acknowledged changes, a restart serves every session at its last acknowledged version', async () => {
    const dataDir = testDataDir();
    const first = await startInstance(dataDir);
    const ids = Array.from({ length: SESSIONS }, (_, i) => `durable-${i}`);
    const acknowledged = new Map<string, SessionView>();
    await Promise.all(
      ids.map(async (id) => {
        acknowledged.set(
          id,
          await callJson(first.http, 'POST', '/v1/sessions', chessClockInput(id, 3_600_000)),
        );
        acknowledged.set(id, await callJson(first.http, 'POST', `/v1/sessions/${id}/start`));
        while (acknowledged.get(id)!.version < VERSIONS_PER_SESSION) {
          acknowledged.set(id, await callJson(first.http, 'POST', `/v1/sessions/${id}/switch`));
        }
      }),
    );
    // No grace: the process dies the moment the last answer is in.
    await kill9(first);
    const killedAtMs = Date.now();

    const second = await startInstance(dataDir);
    for (const id of ids) {
      const before = acknowledged.get(id)!;
      const after = await callJson(second.http, 'GET', `/v1/sessions/${id}`);
      expect(after.version).toBe(VERSIONS_PER_SESSION);
      expect(after.status).toBe('running');
      expect(after.active_participant_id).toBe(before.active_participant_id);
      expect(after.cycle_started_at).toBe(before.cycle_started_at);
      // The clock ran on while the process was down: calculated from its start, not resumed.
      const active = (view: SessionView) =>
        view.participants.find((p) => p.participant_id === before.active_participant_id)!;
      const downMs = Date.now() - killedAtMs;
      expect(active(after).time_remaining_ms).toBeLessThanOrEqual(active(before).time_remaining_ms! - downMs);
    }
    expect(second.service.logs.find((line) => line.msg.startsWith('restored'))).toMatchObject({
      sessions: SESSIONS,
    });
  }, 120_000);

  it('a deadline that passed while the instance was down is applied once at startup, stamped at the deadline', async () => {
    const dataDir = testDataDir();
    const first = await startInstance(dataDir);
    await callJson(first.http, 'POST', '/v1/sessions', chessClockInput('flag', SHORT_BANK_MS));
    const running = await callJson(first.http, 'POST', '/v1/sessions/flag/start');
    const deadlineAt = running.deadline_at;
    expect(deadlineAt).not.toBeNull();
    await kill9(first);
    // Down past the deadline.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadlineAt! - Date.now()) + 200));

    const second = await startInstance(dataDir);
    const expired = await waitForStatus(second, 'flag', 'expired');
    expect(expired.version).toBe(running.version + 1);
    expect(expired.event).toBe('expired');
    expect(expired.updated_at).toBe(deadlineAt);
    const white = expired.participants.find((p) => p.participant_id === 'white')!;
    expect(white.time_used_ms).toBe(SHORT_BANK_MS);

    // Once: a second restart finds it expired at the same version, and applies nothing more.
    await kill9(second);
    const third = await startInstance(dataDir);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await callJson(third.http, 'GET', '/v1/sessions/flag')).toMatchObject({
      status: 'expired',
      version: running.version + 1,
    });
  }, 60_000);

  it('an instance starting on 10,000 stored sessions serves every one of them at its version', async () => {
    const dataDir = testDataDir();
    const log = await LmdbSessionLog.open(dataDir);
    const versionOf = (i: number): number => 1 + (i % 7);
    await Promise.all(
      Array.from({ length: STORED_SESSIONS }, (_, i) => {
        const state = sessionStateFixture({
          sessionId: `stored-${i}`,
          version: versionOf(i),
          createdAtMs: Date.now(),
        });
        return log.put(state.sessionId, {
          stateJson: encodeState(state),
          deadlineAtMs: null,
          expiresAtMs: null,
        });
      }),
    );
    await log.close();

    const instance = await startInstance(dataDir);
    const restored = instance.service.logs.find((line) => line.msg.startsWith('restored'));
    expect(restored).toMatchObject({ sessions: STORED_SESSIONS });
    // The time is the benchmark's business; the log says it for whoever reads this run.
    process.stdout.write(`restored ${STORED_SESSIONS} sessions in ${String(restored?.durationMs)} ms\n`);
    const indexes = Array.from({ length: STORED_SESSIONS }, (_, i) => i);
    for (let from = 0; from < STORED_SESSIONS; from += 50) {
      const views = await Promise.all(
        indexes.slice(from, from + 50).map((i) => callJson(instance.http, 'GET', `/v1/sessions/stored-${i}`)),
      );
      views.forEach((view, k) => expect(view.version).toBe(versionOf(from + k)));
    }
  }, 180_000);
});

async function waitForStatus(instance: Instance, id: string, status: string): Promise<SessionView> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const view = await callJson(instance.http, 'GET', `/v1/sessions/${id}`);
    if (view.status === status || Date.now() > deadline) return view;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
