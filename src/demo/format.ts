// How a clock reads at a glance: tenths in the last ten seconds, where they matter, and never
// "0:00" while time is left (a countdown rounds up, as every physical clock does).

/** 01:05 → "1:05"; an hour or more → "1:02:05"; under ten seconds → "9.4"; zero → "0.0". */
export function formatClock(remainingMs: number): string {
  const ms = Math.max(0, remainingMs);
  const tenths = Math.ceil(ms / 100);
  if (tenths < 100) return (tenths / 10).toFixed(1);
  const totalSeconds = Math.ceil(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const ss = String(seconds).padStart(2, '0');
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, '0')}:${ss}`;
  return `${minutes}:${ss}`;
}

/**
 * A countdown for a stage: whole seconds to the end, "0:00" only at zero; in overtime (below
 * zero) the seconds past it with a minus sign, "−0:12", on the same rounding, so the digits tick
 * on without a jump.
 */
export function formatCountdown(remainingMs: number): string {
  const signedSeconds = Math.ceil(remainingMs / 1000);
  if (signedSeconds < 0) return `−${formatCountdown(-signedSeconds * 1000)}`;
  const totalSeconds = Math.max(0, signedSeconds);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const ss = String(totalSeconds % 60).padStart(2, '0');
  if (hours > 0) return `${hours}:${String(minutes).padStart(2, '0')}:${ss}`;
  return `${minutes}:${ss}`;
}

/** A small signed duration for the sync readout: "+0.4 ms", "−12 ms", "+1.25 s". */
export function formatOffset(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const sign = ms < 0 ? '−' : '+';
  return `${sign}${formatSmallDuration(Math.abs(ms))}`;
}

/** An unsigned small duration: "0.4 ms", "12 ms", "1.25 s". */
export function formatSmallDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const abs = Math.abs(ms);
  if (abs >= 1000) return `${(abs / 1000).toFixed(2)} s`;
  if (abs >= 10) return `${Math.round(abs)} ms`;
  return `${abs.toFixed(1)} ms`;
}

/** How far a cue ran over (+) or under (−) its plan: "+0:12", "−1:05", "+2.5" under ten seconds. */
export function formatOverUnder(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const sign = ms > 0 ? '+' : ms < 0 ? '−' : '';
  return `${sign}${formatClock(Math.abs(ms))}`;
}
