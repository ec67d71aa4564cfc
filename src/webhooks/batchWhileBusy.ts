// Calls that go to the database together: while one batch is in flight, the calls made meanwhile
// wait and go as the next batch. Alone, a call goes at once; under load the batches grow by
// themselves, so the round trips per message fall as the messages rise. Written here because
// DataLoader, the usual batcher, batches per tick, and queue jobs each arrive on a tick of their own.

interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (err: unknown) => void;
}

export class BatchWhileBusy<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private busy = false;

  /** `run` answers one output per input, in the inputs' order; if it throws, every call of the batch does. */
  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    private readonly maxBatch = 200,
  ) {}

  call(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.busy || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.maxBatch);
    this.busy = true;
    this.run(batch.map((call) => call.input))
      .then(
        (outputs) => batch.forEach((call, i) => call.resolve(outputs[i] as O)),
        (err: unknown) => batch.forEach((call) => call.reject(err)),
      )
      .finally(() => {
        this.busy = false;
        this.next();
      });
  }
}
