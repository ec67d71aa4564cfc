// A TCP proxy on loopback that holds every chunk for `delayMs` (± `jitterMs`, uniformly) in each
// direction, in order: a connection with a real, jittered round trip, for lag compensation and
// clock sync.
import net from 'node:net';

export interface DelayProxy {
  port: number;
  close(): Promise<void>;
}

export interface DelayOptions {
  /** Each chunk's delay is drawn uniformly from delayMs ± jitterMs; a chunk never overtakes another. */
  jitterMs?: number;
}

/** Forwards `from` to `to`, each chunk about `delayMs` after it arrived, never out of order. */
function pipeDelayed(from: net.Socket, to: net.Socket, delayMs: number, jitterMs: number): void {
  let tail = Promise.resolve();
  from.on('data', (chunk: Buffer) => {
    const dueAtMs = performance.now() + delayMs + (Math.random() * 2 - 1) * jitterMs;
    tail = tail.then(async () => {
      // A timer may fire up to a millisecond early by performance.now(): wait until it is due.
      for (let waitMs = dueAtMs - performance.now(); waitMs > 0; waitMs = dueAtMs - performance.now()) {
        await new Promise((resolve) => setTimeout(resolve, Math.ceil(waitMs)));
      }
      if (!to.destroyed) to.write(chunk);
    });
  });
  from.on('end', () => void tail.then(() => to.end()));
  from.on('error', () => to.destroy());
}

export async function startDelayProxy(
  targetPort: number,
  delayMs: number,
  { jitterMs = 0 }: DelayOptions = {},
): Promise<DelayProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
    }
    pipeDelayed(client, upstream, delayMs, jitterMs);
    pipeDelayed(upstream, client, delayMs, jitterMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
