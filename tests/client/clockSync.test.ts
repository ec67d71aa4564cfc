// The SDK's pure parts: the offset estimator, the slewed offset, the local clock formula and
// the WebSocket URL, each with time passed in.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  estimateOffset,
  MAX_SLEW_MS,
  SlewedOffset,
  type PingSample,
  type WebSocketConstructor,
  elapsedMs,
  participantRemainingMs,
  sessionRemainingMs,
  webSocketUrl,
} from '@synckairos/client';
import type { SessionView } from '../../src/types/session.js';

/** A server whose true clock is `local + trueOffsetMs`, answering after `outMs`, truncating to whole ms. */
function sample(sentMs: number, outMs: number, backMs: number, trueOffsetMs: number): PingSample {
  return {
    sentMs,
    receivedMs: sentMs + outMs + backMs,
    serverMs: Math.floor(sentMs + outMs + trueOffsetMs),
  };
}

describe('estimateOffset', () => {
  it('finds a truncating server clock within a fraction of a millisecond from samples at different phases', () => {
    const trueOffsetMs = -5000.37;
    const samples = Array.from({ length: 12 }, (_, i) => sample(1000 + i * 3.17, 0.1, 0.1, trueOffsetMs));
    const estimate = estimateOffset(samples);
    expect(Math.abs(estimate.offsetMs - trueOffsetMs)).toBeLessThan(0.25);
    expect(estimate.uncertaintyMs).toBeLessThan(0.5);
    expect(Math.abs(estimate.offsetMs - trueOffsetMs)).toBeLessThanOrEqual(estimate.uncertaintyMs);
    expect(estimate.roundTripMs).toBeCloseTo(0.2, 6);
  });

  it('keeps the truth within its bounds when a few round trips are slow and lopsided', () => {
    const trueOffsetMs = 1234.5;
    const samples = [
      sample(0, 0.1, 0.1, trueOffsetMs),
      sample(5, 30, 1, trueOffsetMs),
      sample(40, 1, 25, trueOffsetMs),
      sample(70, 0.2, 0.15, trueOffsetMs),
    ];
    const estimate = estimateOffset(samples);
    expect(Math.abs(estimate.offsetMs - trueOffsetMs)).toBeLessThanOrEqual(estimate.uncertaintyMs);
    expect(estimate.uncertaintyMs).toBeLessThan(0.7);
  });

  it('treats fractional server times as exact', () => {
    const estimate = estimateOffset([{ sentMs: 10, receivedMs: 12, serverMs: 111.5 }]);
    expect(estimate.offsetMs).toBe(100.5);
    expect(estimate.uncertaintyMs).toBe(1);
  });

  it('falls back to the median of the best round trips when the bounds contradict each other', () => {
    // The server clock stepped by 50 ms between the samples.
    const samples = [sample(0, 0.1, 0.1, 0), sample(5, 0.1, 0.1, 0), sample(10, 0.1, 0.1, 50)];
    const estimate = estimateOffset(samples);
    expect(Number.isFinite(estimate.offsetMs)).toBe(true);
    expect(estimate.uncertaintyMs).toBeCloseTo(0.6, 6);
  });
});

describe('SlewedOffset', () => {
  it('jumps to the first offset', () => {
    const offset = new SlewedOffset();
    expect(offset.set(-5000, 0)).toBe('jump');
    expect(offset.at(0)).toBe(-5000);
  });

  it('slews a small correction at 10% so the time it gives never goes back', () => {
    const offset = new SlewedOffset();
    offset.set(0, 0);
    expect(offset.set(-100, 1000)).toBe('slew');
    let previousMs = Number.NEGATIVE_INFINITY;
    let wentBack = 0;
    for (let monoMs = 1000; monoMs <= 2500; monoMs += 0.5) {
      const nowMs = monoMs + offset.at(monoMs);
      if (nowMs < previousMs) wentBack++;
      previousMs = nowMs;
    }
    expect(wentBack).toBe(0);
    expect(offset.at(1500)).toBeCloseTo(-50, 6);
    expect(offset.at(2000)).toBe(-100);
    expect(offset.at(9000)).toBe(-100);
  });

  it('slews from wherever a slew in progress has got to', () => {
    const offset = new SlewedOffset();
    offset.set(0, 0);
    offset.set(200, 0);
    expect(offset.set(0, 1000)).toBe('slew'); // 100 ms slewed so far; back toward 0 from there
    expect(offset.at(1000)).toBe(100);
    expect(offset.at(2000)).toBe(0);
  });

  it(`jumps a correction of ${MAX_SLEW_MS} ms or more, in either direction`, () => {
    const offset = new SlewedOffset();
    offset.set(0, 0);
    expect(offset.set(MAX_SLEW_MS, 10)).toBe('jump');
    expect(offset.at(10)).toBe(MAX_SLEW_MS);
    expect(offset.set(-1000, 20)).toBe('jump');
    expect(offset.at(20)).toBe(-1000);
  });
});

function view(overrides: Partial<SessionView>): SessionView {
  return {
    session_id: 's',
    sync_mode: 'per_participant',
    status: 'running',
    version: 2,
    event: 'started',
    server_time: 10_000,
    active_participant_id: 'a',
    cycle_started_at: 9_000,
    start_at: null,
    deadline_at: 69_000,
    total_time_ms: 60_000,
    time_per_cycle_ms: null,
    increment_ms: 0,
    max_time_ms: null,
    on_expire: 'end_session',
    participants: [
      {
        participant_id: 'a',
        group_id: null,
        time_remaining_ms: 59_000,
        time_used_ms: 1_000,
        cycle_count: 0,
        is_active: true,
        has_expired: false,
      },
      {
        participant_id: 'b',
        group_id: null,
        time_remaining_ms: 60_000,
        time_used_ms: 0,
        cycle_count: 0,
        is_active: false,
        has_expired: false,
      },
    ],
    metadata: null,
    created_at: 8_000,
    updated_at: 9_000,
    ...overrides,
  };
}

describe('local clocks from a state', () => {
  it('runs the active participant down from the snapshot and clamps at zero; the others stand still', () => {
    const state = view({});
    expect(participantRemainingMs(state, 'a', 10_000)).toBe(59_000);
    expect(participantRemainingMs(state, 'a', 12_500.5)).toBe(56_499.5);
    expect(participantRemainingMs(state, 'a', 80_000)).toBe(0);
    expect(participantRemainingMs(state, 'b', 12_500)).toBe(60_000);
    expect(participantRemainingMs(state, 'nobody', 12_500)).toBeNull();
  });

  it('stands still while paused', () => {
    expect(participantRemainingMs(view({ status: 'paused' }), 'a', 20_000)).toBe(59_000);
  });

  it('keeps the clock full until a scheduled start', () => {
    const state = view({
      start_at: 15_000,
      participants: view({}).participants.map((p) => ({ ...p, time_remaining_ms: 60_000 })),
    });
    expect(participantRemainingMs(state, 'a', 14_000)).toBe(60_000);
    expect(participantRemainingMs(state, 'a', 16_000)).toBe(59_000);
  });

  it('runs a global bank for everybody, and count_up elapsed up to its limit', () => {
    const global = view({ sync_mode: 'global', time_remaining_ms: 30_000 });
    expect(sessionRemainingMs(global, 11_000)).toBe(29_000);
    expect(participantRemainingMs(global, 'b', 11_000)).toBe(59_000);
    const countUp = view({
      sync_mode: 'count_up',
      elapsed_ms: 4_000,
      max_time_ms: 5_000,
      time_remaining_ms: 1_000,
    });
    expect(elapsedMs(countUp, 10_500)).toBe(4_500);
    expect(elapsedMs(countUp, 20_000)).toBe(5_000);
    expect(sessionRemainingMs(countUp, 10_500)).toBe(500);
  });
});

describe('webSocketUrl', () => {
  it('turns the base URL into the WebSocket URL with the session and token', () => {
    expect(webSocketUrl('http://127.0.0.1:3000', 'game-1')).toBe(
      'ws://127.0.0.1:3000/v1/ws?session_id=game-1',
    );
    expect(webSocketUrl('https://timers.example.com/sk/', 'a b', 't.k')).toBe(
      'wss://timers.example.com/sk/v1/ws?session_id=a+b&token=t.k',
    );
  });

  it('accepts the WebSocket of browsers and of ws', () => {
    const fromWs: WebSocketConstructor = WebSocket;
    const fromBrowser: WebSocketConstructor | undefined = globalThis.WebSocket;
    expect(fromWs).toBeTypeOf('function');
    expect(fromBrowser === undefined || typeof fromBrowser === 'function').toBe(true);
  });
});
