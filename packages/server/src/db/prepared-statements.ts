import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Named (prepared) statements for the SQL that runs often. Kysely sends every statement unnamed, so PostgreSQL
 * parses, analyzes and plans it on every call; a named statement is parsed and analyzed once per connection, and
 * after five calls PostgreSQL may keep a generic plan for it and stop planning too (`plan_cache_mode = auto`):
 * a lookup by reference ran at 1.75x the throughput through `pg` with its generic plan as with a plan per call.
 *
 * A generic plan ignores the values, though, and on skewed data that can be far worse: the generic plan of "users
 * of group X, newest first" read all 233,805 members of the biggest group for every page of 50. Statements whose
 * best plan depends on their values (which group, which pattern) start with PLAN_EACH_CALL and are never named:
 * the unnamed statement is planned for each call's values. The repositories decide which (see `planEachCall`).
 *
 * Only texts seen `threshold` times are prepared, and at most `max` of them per process: list queries built from
 * arbitrary filter combinations would otherwise leave an unbounded number of statements in every backend. The
 * SQL text carries no values (they are parameters), so one statement serves every caller.
 *
 * A prepared `select *` fails with "cached plan must not change result type" (SQLSTATE 0A000) once a migration
 * run by another node changes the table's columns. Such a call is retried unnamed on the same connection, and that
 * connection stops naming that text; nothing fails.
 */
export interface PreparedStatementOptions {
  /** Uses of one text before it is prepared. */
  readonly threshold: number;
  /** Most distinct texts prepared in this process. */
  readonly max: number;
}

/** Leading comment of a statement that must be planned for each call's values; such a text is never prepared. */
export const PLAN_EACH_CALL = '/* plan each call */ ';

export const DEFAULT_PREPARED_STATEMENTS: PreparedStatementOptions = { threshold: 3, max: 500 };

/** Process-wide choice of which texts are named, and their names. */
export class StatementRegistry {
  readonly #seen = new Map<string, number>();
  readonly #names = new Map<string, string>();

  constructor(private readonly options: PreparedStatementOptions) {}

  /** The name to run `text` under, or undefined to run it unnamed. */
  nameFor(text: string): string | undefined {
    if (text.startsWith(PLAN_EACH_CALL)) return undefined;
    const name = this.#names.get(text);
    if (name !== undefined || this.#names.size >= this.options.max) return name;
    const uses = (this.#seen.get(text) ?? 0) + 1;
    if (uses < this.options.threshold) {
      // Bounded too: past 10,000 distinct texts, new ones are no longer counted (and never prepared).
      if (this.#seen.size < 10_000 || this.#seen.has(text)) this.#seen.set(text, uses);
      return undefined;
    }
    this.#seen.delete(text);
    const named = `roster_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    this.#names.set(text, named);
    return named;
  }

  get preparedCount(): number {
    return this.#names.size;
  }
}

const RESULT_TYPE_CHANGED = '0A000';

/**
 * Makes every client of `pool` run the registry's texts as named statements. Kysely calls
 * `client.query(text, values)` (promise form); other call forms (cursors, callbacks) pass through untouched.
 */
export function usePreparedStatements(pool: pg.Pool, registry: StatementRegistry): void {
  pool.on('connect', (client: pg.PoolClient) => {
    const original = client.query.bind(client) as (...args: unknown[]) => Promise<pg.QueryResult> | undefined;
    const unnamedOnly = new Set<string>();
    const query = (...args: unknown[]): Promise<pg.QueryResult> | undefined => {
      const [text, values] = args;
      if (args.length !== 2 || typeof text !== 'string' || !Array.isArray(values) || unnamedOnly.has(text)) return original(...args);
      const name = registry.nameFor(text);
      if (name === undefined) return original(text, values);
      return (original({ name, text, values }) as Promise<pg.QueryResult>).catch((e: unknown) => {
        if ((e as { code?: unknown }).code !== RESULT_TYPE_CHANGED) throw e;
        unnamedOnly.add(text);
        return original(text, values) as Promise<pg.QueryResult>;
      });
    };
    (client as unknown as { query: typeof query }).query = query;
  });
}
