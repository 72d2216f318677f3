/**
 * The embedded database's thread: PGlite (PostgreSQL compiled to WebAssembly) runs each statement synchronously,
 * so on the main thread one slow statement stopped every request, `/healthz` included. Here it runs beside the
 * HTTP server; `pglite-thread.ts` is the main thread's side. Messages: `{ id, sql, params }` in, `{ id, rows,
 * affectedRows }` or `{ id, error }` out; `{ id, close: true }` flushes and closes the data directory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

export interface WorkerRequest {
  readonly id: number;
  readonly sql?: string;
  readonly params?: readonly unknown[];
  readonly close?: boolean;
}

export type WorkerReply =
  | { readonly id: number; readonly rows: unknown[]; readonly affectedRows: number | undefined }
  | { readonly id: number; readonly error: Record<string, unknown> }
  | { readonly id: number; readonly closed: true }
  | { readonly ready: true }
  | { readonly failed: Record<string, unknown> };

/** What a PostgreSQL error carries (SQLSTATE, constraint, …), as plain data that crosses threads. */
export function errorFields(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return { message: String(e) };
  const fields: Record<string, unknown> = { message: e.message, name: e.name };
  for (const [key, value] of Object.entries(e)) if (typeof value === 'string' || typeof value === 'number') fields[key] = value;
  return fields;
}

const port = parentPort;
if (port) {
  const { dataDir } = workerData as { dataDir: string };
  try {
    const pglite = await PGlite.create(dataDir, {
      parsers: { 20: (v: string) => Number.parseInt(v, 10) },
      // Trigram indexes for substring search (migration 0005).
      extensions: { pg_trgm },
    });
    port.on('message', (request: WorkerRequest) => {
      if (request.close) {
        void pglite.close().then(
          () => port.postMessage({ id: request.id, closed: true } satisfies WorkerReply),
          (e: unknown) => port.postMessage({ id: request.id, error: errorFields(e) } satisfies WorkerReply),
        );
        return;
      }
      pglite.query(request.sql!, request.params as unknown[], { rowMode: 'object' }).then(
        (result) => port.postMessage({ id: request.id, rows: result.rows, affectedRows: result.affectedRows } satisfies WorkerReply),
        (e: unknown) => port.postMessage({ id: request.id, error: errorFields(e) } satisfies WorkerReply),
      );
    });
    port.postMessage({ ready: true } satisfies WorkerReply);
  } catch (e) {
    port.postMessage({ failed: errorFields(e) } satisfies WorkerReply);
  }
}
