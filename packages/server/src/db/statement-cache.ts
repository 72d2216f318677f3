import { PostgresQueryCompiler, type CompiledQuery, type OperationNode, type QueryExecutor, type QueryExecutorProvider, type QueryResult, type RawBuilder, type RawNode, type RootOperationNode, type ValueNode } from 'kysely';

/**
 * Runs a raw statement (`sql\`...\``) without compiling it anew on every call.
 *
 * Kysely turns the builder's node tree into SQL text on every execution. For a users list that is a tree of some
 * thirty nodes (the filter's conditions, the selected columns, the order) and took about 20 µs of CPU per request
 * in a profile of the server under load, 7% of a lookup's CPU. Yet the text depends only on the tree's shape:
 * which template literals were used and how they nest, the raw SQL pieces, the column references. The values
 * only fill the `$n` parameters. So the tree is walked once per call, cheaply, collecting its values in the order
 * the compiler numbers them and a key that names its shape; the text is compiled the first time a shape is seen
 * and reused after that.
 *
 * Safety: the first compile of a shape checks that the walk found exactly the parameters Kysely found, in the same
 * order; a shape where they differ, or a tree holding a node the walk does not understand, is always compiled.
 * The cache is bounded: past MAX_SHAPES shapes, new ones are compiled every time, as before.
 *
 * One text per shape holds for every database Roster runs on: PGlite and PostgreSQL share Kysely's PostgreSQL
 * compiler.
 */
export function executeCached<R>(builder: RawBuilder<R>, db: QueryExecutorProvider): Promise<QueryResult<R>> {
  const executor = db.getExecutor();
  return executor.executeQuery(compileCached(builder, executor));
}

/** What Kysely's `builder.compile(db)` returns, from the cache when the statement's shape was seen before. */
export function compileCached<R>(builder: RawBuilder<R>, executor: QueryExecutor): CompiledQuery<R> {
  const node = builder.toOperationNode() as RootOperationNode;
  // Plugins may rewrite the tree; Roster's Kysely has none, and a tree they would rewrite is compiled as usual.
  const walk = executor.plugins.length === 0 ? shapeOf(node) : undefined;
  if (!walk) return executor.compileQuery<R>(executor.transformQuery(node, QUERY_ID), QUERY_ID);
  const known = texts.get(walk.key);
  if (typeof known === 'string') return { query: node, queryId: QUERY_ID, sql: known, parameters: walk.parameters } as CompiledQuery<R>;
  const compiled = executor.compileQuery<R>(node, QUERY_ID);
  if (known === undefined && texts.size < MAX_SHAPES) texts.set(walk.key, sameParameters(compiled.parameters, walk.parameters) ? compiled.sql : null);
  return compiled;
}

/** Most distinct statement shapes whose text is kept. */
export const MAX_SHAPES = 2000;

/** Shape key → compiled text, or null for a shape whose parameters the walk could not account for. */
const texts = new Map<string, string | null>();

/** Kysely's compiler and executor read a query id only for plugins and logging: one fixed id serves. */
const QUERY_ID = { queryId: 'roster-cached' };

// A Map, not a WeakMap (faster to read): template literals' strings live as long as the code that holds them.
const templateIds = new Map<readonly string[], string>();
let nextTemplateId = 0;

/** Shape keys of the leaf nodes a tree may hold besides raw SQL and values (column and table names): their text. */
const leafKeys = new WeakMap<OperationNode, string>();
const LEAF_KINDS = new Set(['ReferenceNode', 'ColumnNode', 'TableNode', 'IdentifierNode', 'SchemableIdentifierNode']);

interface Shape {
  readonly key: string;
  readonly parameters: unknown[];
}

/** The shape key and the parameter values of `root`, or undefined when it holds a node the walk does not handle. */
export function shapeOf(root: OperationNode): Shape | undefined {
  const parts: string[] = [];
  const parameters: unknown[] = [];
  const visit = (node: OperationNode): boolean => {
    switch (node.kind) {
      case 'RawNode': {
        const raw = node as RawNode;
        parts.push(fragmentsKey(raw.sqlFragments), '(');
        for (const child of raw.parameters) if (!visit(child)) return false;
        parts.push(')');
        return true;
      }
      case 'ValueNode': {
        const value = node as ValueNode;
        if (value.immediate) {
          // Inlined into the text (sql.lit): part of the shape, not a parameter. Only plain scalars, whose text
          // their JSON names exactly.
          const v = value.value;
          if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return false;
          parts.push(`L${typeof v}${JSON.stringify(v)}`);
        } else {
          parameters.push(value.value);
          parts.push('?');
        }
        return true;
      }
      default: {
        if (!LEAF_KINDS.has(node.kind)) return false;
        let key = leafKeys.get(node);
        if (key === undefined) {
          const compiled = LEAF_COMPILER.compileQuery(node as RootOperationNode, QUERY_ID);
          if (compiled.parameters.length > 0) return false;
          leafKeys.set(node, (key = `N${JSON.stringify(compiled.sql)}`));
        }
        parts.push(key);
        return true;
      }
    }
  };
  return visit(root) ? { key: parts.join(''), parameters } : undefined;
}

/**
 * A template literal's strings are one frozen array per call site, so its identity names it. Other fragment lists
 * (sql.raw, sql.join) are made per call and are named by their content.
 */
function fragmentsKey(fragments: readonly string[]): string {
  const known = templateIds.get(fragments);
  if (known !== undefined) return known;
  if (Object.prototype.hasOwnProperty.call(fragments, 'raw')) {
    const id = `T${nextTemplateId++}`;
    templateIds.set(fragments, id);
    return id;
  }
  // sql.join and sql.ref wrap their children in empty fragments: named by their count, without serialising.
  if (fragments.every((f) => f === '')) return `E${fragments.length}`;
  return JSON.stringify(fragments);
}

function sameParameters(compiled: readonly unknown[], walked: readonly unknown[]): boolean {
  return compiled.length === walked.length && compiled.every((p, i) => Object.is(p, walked[i]));
}

/** Compiles the leaf nodes (column and table references) once each; they hold no values. */
const LEAF_COMPILER = new PostgresQueryCompiler();

/** For tests: forgets every cached text. */
export function clearStatementCache(): void {
  texts.clear();
}

/** For tests and metrics: how many shapes have a cached text. */
export function cachedShapeCount(): number {
  let n = 0;
  for (const t of texts.values()) if (t !== null) n++;
  return n;
}
