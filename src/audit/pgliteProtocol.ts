// The messages between the main thread and the PGlite worker (pgliteWorker.ts).
export type WorkerRequest = { id: number } & (
  | { op: 'query'; text: string; params?: unknown[]; txId?: number }
  | { op: 'exec'; text: string; txId?: number }
  | { op: 'begin'; txId: number }
  | { op: 'end'; txId: number; commit: boolean }
  | { op: 'close' }
);

/** A failure as the worker saw it; `code` is the SQLSTATE the audit writer tells outages by. */
export interface WorkerError {
  message: string;
  code?: string;
  name?: string;
}

export type WorkerReply = { id: number } & (
  { ok: true; result: unknown } | { ok: false; error: WorkerError }
);
