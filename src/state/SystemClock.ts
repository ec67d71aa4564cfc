import type { Clock } from '../types/clock.js';

/** Embedded mode: one process, so the local clock is the deployment's clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };
