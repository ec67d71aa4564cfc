// The webhook receiver of the webhook rows: a plain node:http server that answers every POST 200
// and counts them. It stands for the subscribers' own servers, which in a deployment run on other
// machines: so it runs in a process of its own at nice 19, taking only CPU the service leaves idle,
// and its work is not counted as the service's.
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export interface BenchReceiver {
  url: string;
  /** Requests answered so far. */
  received(): Promise<number>;
  /** The receiver's process, to read its CPU. */
  pid: number;
  close(): Promise<void>;
}

const RECEIVER_NICE = 19;

/** The child's side: listen, count, answer the parent's `count` asks. */
async function serve(): Promise<void> {
  const http = await import('node:http');
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.({ port: typeof address === 'object' && address !== null ? address.port : 0 });
  });
  process.on('message', () => process.send?.({ received }));
  // The parent gone (killed, or done): so is the receiver.
  process.on('disconnect', () => process.exit(0));
}

export async function startBenchReceiver(): Promise<BenchReceiver> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  os.setPriority(child.pid!, RECEIVER_NICE);
  const next = (): Promise<Record<string, number>> =>
    new Promise((resolve, reject) => {
      const exited = (code: number | null): void => reject(new Error(`the bench receiver exited (${code})`));
      child.once('exit', exited);
      child.once('message', (message) => {
        child.off('exit', exited);
        resolve(message as Record<string, number>);
      });
    });
  const { port } = await next();
  return {
    url: `http://127.0.0.1:${port}/hook`,
    pid: child.pid!,
    async received() {
      const answer = next();
      child.send('count');
      return (await answer).received!;
    },
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

if (process.argv.includes('--serve')) void serve();
