// The worker thread that runs PGlite for the audit trail: PGlite is Postgres compiled to WASM and
// runs on whatever thread calls it, so a first open (initdb, seconds of CPU) or a big write on the
// main thread would stall every clock. sqlClient.ts's pgliteClient talks to it; the messages are
// typed in pgliteProtocol.ts. Plain JavaScript: a worker thread under Node 20 cannot load TypeScript
// through tsx's hooks.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

if (parentPort === null) throw new Error('pgliteWorker runs only as a worker thread');
const port = parentPort;
const opening = PGlite.create(workerData.dataDir);
// A failed open is answered to each request; this only keeps it from crashing the worker first.
opening.catch(() => {});
/** txId → { tx, finish(commit), done } */
const transactions = new Map();
const ROLLBACK = Symbol('rollback');

/** Opens a transaction and holds it until an `end` message finishes it. */
function begin(db, txId) {
  return new Promise((acquired, failed) => {
    let finish;
    const ended = new Promise((commit, rollback) => {
      finish = (doCommit) => (doCommit ? commit() : rollback(ROLLBACK));
    });
    const done = db
      .transaction(async (tx) => {
        transactions.set(txId, { tx, finish, done });
        acquired();
        await ended;
      })
      .catch((err) => {
        if (err === ROLLBACK) return;
        failed(err); // BEGIN itself failed; no effect once acquired
        throw err;
      });
    // Its failure reaches whoever ends the transaction.
    done.catch(() => {});
  });
}

function target(db, txId) {
  if (txId === undefined) return db;
  const open = transactions.get(txId);
  if (open === undefined) throw new Error(`no open transaction ${txId}`);
  return open.tx;
}

async function handle(request) {
  const db = await opening;
  switch (request.op) {
    case 'query':
      return (await target(db, request.txId).query(request.text, request.params)).rows;
    case 'exec':
      await target(db, request.txId).exec(request.text);
      return null;
    case 'begin':
      await begin(db, request.txId);
      return null;
    case 'end': {
      const open = transactions.get(request.txId);
      if (open === undefined) throw new Error(`no open transaction ${request.txId}`);
      transactions.delete(request.txId);
      open.finish(request.commit);
      await open.done;
      return null;
    }
    case 'close':
      if (!db.closed) await db.close();
      return null;
    default:
      throw new Error(`unknown request ${String(request.op)}`);
  }
}

port.on('message', (request) => {
  handle(request).then(
    (result) => port.postMessage({ id: request.id, ok: true, result }),
    (err) => {
      const { message, code, name } = err ?? {};
      port.postMessage({
        id: request.id,
        ok: false,
        error: {
          message: typeof message === 'string' ? message : String(err),
          code: typeof code === 'string' ? code : undefined,
          name: typeof name === 'string' ? name : undefined,
        },
      });
    },
  );
});
