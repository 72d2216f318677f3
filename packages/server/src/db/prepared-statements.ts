import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Named (prepared) statements for the SQL that runs often. Kysely sends every statement unnamed, so PostgreSQL
 * parses, analyzes and plans it on every call; a named statement is parsed and analyzed once per connection.
 * Planning still happens on every call: connections run with `plan_cache_mode = force_custom_plan` (database.ts),
 * because a generic plan ignores the values, and for skewed data (one group of 233,805 members, most of 70) the
 * generic plan of "users of group X, newest first" read the whole group for every page of 50. Inside a
 * transaction the default mode applies again (see below): its writes need PostgreSQL's cached foreign-key plans.
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

export const DEFAULT_PREPARED_STATEMENTS: PreparedStatementOptions = { threshold: 3, max: 500 };

/** Process-wide choice of which texts are named, and their names. */
export class StatementRegistry {
  readonly #seen = new Map<string, number>();
  readonly #names = new Map<string, string>();

  constructor(private readonly options: PreparedStatementOptions) {}

  /** The name to run `text` under, or undefined to run it unnamed. */
  nameFor(text: string): string | undefined {
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
const TRANSACTION_START = /^(begin|start transaction)\b/i;

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
      // Transactions plan with PostgreSQL's default mode. Under force_custom_plan the foreign-key checks, which
      // PostgreSQL runs as cached plans, were planned again for every row: a 10,000-row membership insert took
      // 1.2-1.5 s instead of 0.3 s. Sent in the same round trip as BEGIN (simple protocol, no parameters).
      if (typeof text === 'string' && Array.isArray(values) && values.length === 0 && TRANSACTION_START.test(text)) {
        return (original(`${text}; set local plan_cache_mode = auto`) as Promise<pg.QueryResult | pg.QueryResult[]>).then((r) => (Array.isArray(r) ? r[0]! : r));
      }
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
