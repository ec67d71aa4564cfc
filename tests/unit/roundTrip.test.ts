// The server's own round-trip measurement, which lag compensation trusts.
import { describe, expect, it } from 'vitest';
import { RoundTripEstimate } from '../../src/websocket/roundTrip.js';

describe('round-trip estimate', () => {
  it('is 0 until a pong answers a ping, then the first sample', () => {
    const estimate = new RoundTripEstimate();
    expect(estimate.roundTripMs).toBe(0);
    estimate.pingSent(1_000);
    expect(estimate.awaitingPong).toBe(true);
    estimate.pongReceived(1_100);
    expect(estimate.awaitingPong).toBe(false);
    expect(estimate.roundTripMs).toBe(100);
  });

  it('moves a quarter of the way toward each new sample', () => {
    const estimate = new RoundTripEstimate();
    estimate.pingSent(0);
    estimate.pongReceived(100);
    estimate.pingSent(1_000);
    estimate.pongReceived(1_300);
    expect(estimate.roundTripMs).toBe(150);
  });

  it('takes no sample from a pong that answers no ping', () => {
    const estimate = new RoundTripEstimate();
    estimate.pingSent(0);
    estimate.pongReceived(100);
    estimate.pongReceived(5_000);
    expect(estimate.roundTripMs).toBe(100);
  });
});
