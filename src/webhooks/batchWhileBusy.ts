// Calls that go to the database together: while one batch is in flight, the calls made meanwhile
// wait and go as the next batch. Under load the batches grow by themselves, so the round trips
// per message fall as the messages rise. With a linger, each batch also waits that long after the
// first call (unless it fills first), gathering the calls that come close together: a statement
// costs the database several times what one more row in it does. Written here because
// DataLoader, the usual batcher, batches per tick, and queue jobs each arrive on a tick of their own.

interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (err: unknown) => void;
}

export interface BatchOptions {
  /** The most inputs in one batch (default 200). */
  maxBatch?: number;
  /** How long each batch waits after its first call for more, unless it fills (default 0: at once). */
  lingerMs?: number;
}

export class BatchWhileBusy<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private busy = false;
  private lingering: NodeJS.Timeout | null = null;
  private readonly maxBatch: number;
  private readonly lingerMs: number;

  /** `run` answers one output per input, in the inputs' order; if it throws, every call of the batch does. */
  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    options: BatchOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 200;
    this.lingerMs = options.lingerMs ?? 0;
  }

  call(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.schedule();
    });
  }

  /** Sends now if a batch is full or there is no linger; otherwise once the linger is over. */
  private schedule(): void {
    if (this.busy || this.waiting.length === 0) return;
    if (this.lingerMs === 0 || this.waiting.length >= this.maxBatch) {
      this.next();
      return;
    }
    this.lingering ??= setTimeout(() => {
      this.lingering = null;
      this.next();
    }, this.lingerMs);
  }

  private next(): void {
    if (this.busy || this.waiting.length === 0) return;
    if (this.lingering !== null) {
      clearTimeout(this.lingering);
      this.lingering = null;
    }
    const batch = this.waiting.splice(0, this.maxBatch);
    this.busy = true;
    this.run(batch.map((call) => call.input))
      .then(
        (outputs) => batch.forEach((call, i) => call.resolve(outputs[i] as O)),
        (err: unknown) => batch.forEach((call) => call.reject(err)),
      )
      .finally(() => {
        this.busy = false;
        this.schedule();
      });
  }
}
