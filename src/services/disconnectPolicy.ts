// Wires the disconnect policy (on_disconnect) of one instance: the tracker of its connections'
// presence and the sweep that pauses participants gone past their grace.
import type { SyncEngine } from '../engine/SyncEngine.js';
import type { MemoryStateStore } from '../state/MemoryStateStore.js';
import type { Clock } from '../types/clock.js';
import type { PresenceStore } from '../types/presence.js';
import type { SessionEvent } from '../types/session.js';
import { DisconnectSweep, type DisconnectSweepLogger } from './DisconnectSweep.js';
import { PresenceTracker } from './PresenceTracker.js';

export interface DisconnectPolicy {
  tracker: PresenceTracker;
  /** Stops renewing and sweeping, after the connections released their leases. */
  close(): Promise<void>;
}

export function startDisconnectPolicy(deps: {
  engine: Pick<SyncEngine, 'pauseDisconnected'>;
  presence: PresenceStore;
  clock: Clock;
  logger: DisconnectSweepLogger;
  onPaused?: (events: SessionEvent[]) => void;
}): DisconnectPolicy {
  const tracker = new PresenceTracker({ store: deps.presence, clock: deps.clock, logger: deps.logger });
  const sweep = new DisconnectSweep({
    engine: deps.engine,
    store: deps.presence,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.onPaused === undefined ? {} : { onPaused: deps.onPaused }),
  });
  tracker.start();
  sweep.start();
  return {
    tracker,
    async close() {
      await tracker.close();
      await sweep.close();
    },
  };
}

/**
 * Embedded mode after a restart: nobody is connected, and the memory presence store is empty.
 * Every participant of a running session with the policy is taken as gone since now: paused a
 * grace from now unless it reconnects. Returns how many participants were armed.
 */
export async function armDisconnectsAfterRestart(
  store: MemoryStateStore,
  presence: PresenceStore,
  instanceId: string,
  nowMs: number,
): Promise<number> {
  let armed = 0;
  for (const state of store.statesWith('"onDisconnect"')) {
    const policy = state.config.onDisconnect;
    if (policy === undefined || state.status !== 'running') continue;
    for (const { participantId } of state.participants) {
      // A release with no lease held: the entry falls due a grace from now.
      await presence.release(state.sessionId, participantId, instanceId, nowMs, policy.graceMs);
      armed += 1;
    }
  }
  return armed;
}
