import { Worker } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './pglite-worker.ts';

interface QueryResult {
  rows: unknown[];
  affectedRows?: number;
}

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(error: Error): void;
}

// Under tsx (development, tests) the worker is the TypeScript module beside this one; the bundle that
// `npm run build` writes carries it as `pglite-worker.mjs` beside `roster.mjs`.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './pglite-worker.ts' : './pglite-worker.mjs', import.meta.url);

/** The worker: the module itself, or, from source, a bootstrap that first registers tsx in the new thread. */
function startWorker(dataDir: string): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData: { dataDir } });
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: { dataDir } });
}

/** A PostgreSQL error rebuilt on this side of the thread: the same message and fields (`code`, `constraint`, …). */
function rebuildError(fields: Record<string, unknown>): Error {
  const error = new Error(String(fields.message ?? 'PGlite failed'));
  Object.assign(error, fields);
  return error;
}

/**
 * PGlite in a worker thread: `query` sends a statement and its parameters, and resolves with the rows. Statements
 * arrive one at a time (pglite-thread-dialect.ts hands out the one connection); a transaction is BEGIN, its
 * statements and COMMIT or ROLLBACK, sent in order.
 *
 * Why a thread: PGlite executes a statement synchronously, and on the main thread a statement of 20 s stopped
 * every other request for 20 s, health checks included (docs/decisions.md, "The embedded database runs in a thread").
 */
export class PGliteThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  #failure: Error | undefined;
  readonly waitReady: Promise<void>;
  ready = false;

  constructor(dataDir: string) {
    this.#worker = startWorker(dataDir);
    this.waitReady = new Promise<void>((resolve, reject) => {
      this.#worker.on('message', (reply: WorkerReply) => {
        if ('ready' in reply) {
          this.ready = true;
          resolve();
        } else if ('failed' in reply) {
          reject(rebuildError(reply.failed));
        } else {
          const pending = this.#pending.get(reply.id);
          this.#pending.delete(reply.id);
          pending?.resolve(reply);
        }
      });
      const fail = (error: Error) => {
        this.#failure = error;
        this.#closed = true;
        reject(error);
        for (const pending of this.#pending.values()) pending.reject(error);
        this.#pending.clear();
      };
      this.#worker.on('error', fail);
      this.#worker.on('exit', (code) => {
        if (!this.#failure) fail(Object.assign(new Error(`The embedded database thread stopped (exit code ${code})`), { code: '57P01' }));
      });
    });
    // A failure before anyone awaits is reported to the first caller, not as an unhandled rejection.
    this.waitReady.catch(() => undefined);
  }

  get closed(): boolean {
    return this.#closed;
  }

  #send(request: Omit<WorkerRequest, 'id'>): Promise<WorkerReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...request } satisfies WorkerRequest);
    });
  }

  async query(sqlText: string, params: readonly unknown[] = []): Promise<QueryResult> {
    const reply = await this.#send({ sql: sqlText, params });
    if ('error' in reply) throw rebuildError(reply.error);
    if (!('rows' in reply)) throw new Error('Unexpected reply from the embedded database thread');
    return reply.affectedRows === undefined ? { rows: reply.rows } : { rows: reply.rows, affectedRows: reply.affectedRows };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const reply = await this.#send({ close: true });
    this.#closed = true;
    await this.#worker.terminate();
    if ('error' in reply) throw rebuildError(reply.error);
  }
}
