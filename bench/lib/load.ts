// Client-side building blocks of the load workers: a monotonic clock shared by every process on
// the machine, HTTP keep-alive requests, WebSocket connections, and open-loop pacing.
import http from 'node:http';
import WebSocket from 'ws';
import { newHistogram, recordMs, type Histogram } from './hdr.js';

/**
 * CLOCK_MONOTONIC in ms (process.hrtime): one clock for every process on this machine, so a send
 * time in one load process and a receive time in another can be subtracted.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface HttpReply {
  status: number;
  body: string;
}

export function httpRequest(
  agent: http.Agent,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface OpenOptions {
  token?: string | undefined;
  localAddress?: string | undefined;
  /**
   * Attached before the handshake ends: a frame the server sends right after the upgrade can
   * arrive with it, and ws emits it on the next tick, before an awaiting caller could listen.
   */
  onMessage?: ((data: Buffer) => void) | undefined;
}

/** Opens a WebSocket as the benchmark's clients do: no compression, bearer token in the header. */
export function openSocket(url: string, options: OpenOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    if (options.onMessage) ws.on('message', options.onMessage);
    const fail = (err: Error): void => {
      ws.terminate();
      reject(err);
    };
    ws.once('open', () => {
      ws.off('error', fail);
      ws.on('error', () => {});
      resolve(ws);
    });
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  });
}

/** Runs `open(i)` for i in [0, count) with at most `concurrency` at a time; returns the results in order. */
export async function inBatches<T>(
  count: number,
  concurrency: number,
  open: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const index = next++;
      results[index] = await open(index);
    }
  });
  await Promise.all(lanes);
  return results;
}

export interface PacingResult {
  /** How late each send was against its schedule (the generator's own lag). */
  lag: Histogram;
  sent: number;
}

/**
 * Open-loop pacing: `fire(i)` at `ratePerSec` for `durationMs`, whatever the answers do. Ticks
 * of ~1 ms send whatever is due, so nothing waits for a response (no coordinated omission).
 */
export function paced(
  ratePerSec: number,
  durationMs: number,
  fire: (index: number) => void,
): Promise<PacingResult> {
  const lag = newHistogram();
  const startMs = monoMs();
  const intervalMs = 1000 / ratePerSec;
  const total = Math.floor((durationMs * ratePerSec) / 1000);
  let sent = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const nowMs = monoMs();
      while (sent < total && startMs + sent * intervalMs <= nowMs) {
        recordMs(lag, nowMs - (startMs + sent * intervalMs));
        fire(sent);
        sent++;
      }
      if (sent >= total) resolve({ lag, sent });
      else setTimeout(tick, 1);
    };
    tick();
  });
}

/** Pulls `"name":value` out of a frame without parsing all of it (a number or a string). */
export function fieldOf(frame: string, name: string): string | undefined {
  const key = `"${name}":`;
  const at = frame.indexOf(key);
  if (at < 0) return undefined;
  let from = at + key.length;
  if (frame[from] === '"') {
    from++;
    return frame.slice(from, frame.indexOf('"', from));
  }
  let to = from;
  while (to < frame.length && frame[to] !== ',' && frame[to] !== '}') to++;
  return frame.slice(from, to);
}
