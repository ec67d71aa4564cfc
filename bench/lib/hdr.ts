// Latencies go into HDR histograms in microseconds (never averages); workers send them back
// compressed, and the orchestrator merges and summarizes them.
import hdr from 'hdr-histogram-js';

export type Histogram = ReturnType<typeof hdr.build>;

/** Percentiles in milliseconds, from a histogram of microseconds. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a duration given in milliseconds (clamped at 1 µs so a 0 still counts). */
export function recordMs(histogram: Histogram, durationMs: number): void {
  histogram.recordValue(Math.max(1, Math.round(durationMs * 1000)));
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false) as Histogram;
}

/** Decodes and adds several workers' histograms into one. */
export function mergeEncoded(encoded: readonly string[]): Histogram {
  const merged = newHistogram();
  for (const one of encoded) merged.add(decodeHistogram(one));
  return merged;
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

export function summarize(histogram: Histogram): LatencySummary {
  const ms = (percentile: number): number => round3(histogram.getValueAtPercentile(percentile) / 1000);
  return {
    count: histogram.totalCount,
    p50Ms: ms(50),
    p95Ms: ms(95),
    p99Ms: ms(99),
    maxMs: round3(histogram.maxValue / 1000),
  };
}
