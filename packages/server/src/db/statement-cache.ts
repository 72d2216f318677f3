import { PostgresQueryCompiler, type CompiledQuery, type OperationNode, type QueryExecutor, type QueryExecutorProvider, type QueryResult, type RawBuilder, type RawNode, type RootOperationNode, type ValueNode } from 'kysely';

/**
 * Runs a raw statement (`sql\`...\``) without compiling it anew on every call.
 *
 * Kysely turns the builder's node tree into SQL text on every execution. For a users list that is a tree of some
 * thirty nodes (the filter's conditions, the selected columns, the order) and took about 20 µs of CPU per request
 * in a profile of the server under load, 7% of a lookup's CPU. Yet the text depends only on the tree's shape:
 * which template literals were used and how they nest, the raw SQL pieces, the column references. The values
 * only fill the `$n` parameters. So the tree is walked once per call, collecting its values in the order the
 * compiler numbers them while descending a trie of the shapes seen (one map lookup per node); the text is compiled
 * the first time a shape is seen and reused after that.
 *
 * Safety: the first compile of a shape checks that the walk found exactly the parameters Kysely found, in the same
 * order; a shape where they differ, or a tree holding a node the walk does not understand, is always compiled.
 * The cache is bounded: past MAX_STEPS trie nodes, statements of new shapes are compiled every time, as before.
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
  const shape = walk.key;
  if (typeof shape.text === 'string') return { query: node, queryId: QUERY_ID, sql: shape.text, parameters: walk.parameters } as CompiledQuery<R>;
  const compiled = executor.compileQuery<R>(node, QUERY_ID);
  if (shape.text === undefined) {
    shape.text = sameParameters(compiled.parameters, walk.parameters) ? compiled.sql : null;
    if (shape.text !== null) cachedShapes++;
  }
  return compiled;
}

/**
 * Most trie nodes (steps of shapes) kept, some twenty per statement shape; past that, statements of new shapes
 * are compiled every time, as before.
 */
export const MAX_STEPS = 50_000;

/**
 * The shapes seen, as a trie: each step is one token of a pre-order walk of a statement's tree (a template
 * literal, a raw text, a column reference, a parameter), so finding a shape is one map lookup per node, with no
 * key to build. The node a walk ends on holds the shape's text: a string once compiled, null when the walk's
 * parameters did not match Kysely's, undefined before its first compile.
 */
class Step {
  readonly next = new Map<unknown, Step>();
  text: string | null | undefined = undefined;
}

let root = new Step();
let steps = 0;
let cachedShapes = 0;

/** Kysely's compiler and executor read a query id only for plugins and logging: one fixed id serves. */
const QUERY_ID = { queryId: 'roster-cached' };

/** The token of a parameter (a ValueNode's value, collected in the compiler's order). */
const PARAMETER = Symbol('parameter');

/** Tokens of the leaf nodes a tree may hold besides raw SQL and values (column and table names): their text. */
const leafTokens = new WeakMap<OperationNode, string>();
const LEAF_KINDS = new Set(['ReferenceNode', 'ColumnNode', 'TableNode', 'IdentifierNode', 'SchemableIdentifierNode']);

interface Shape {
  /** Where the walk ended: the same object for every statement of the same shape. */
  readonly key: Step;
  readonly parameters: unknown[];
}

/** The shape and the parameter values of `root`, or undefined when it holds a node the walk does not handle. */
export function shapeOf(tree: OperationNode): Shape | undefined {
  const parameters: unknown[] = [];
  let at = root;
  const step = (token: unknown): boolean => {
    let next = at.next.get(token);
    if (next === undefined) {
      if (steps >= MAX_STEPS) return false;
      steps++;
      at.next.set(token, (next = new Step()));
    }
    at = next;
    return true;
  };
  const visit = (node: OperationNode): boolean => {
    if (node.kind === 'RawNode') {
      const { sqlFragments, parameters: children } = node as RawNode;
      // Every node Kysely makes has one child between each two fragments, so the token fixes the number of children.
      if (children.length !== sqlFragments.length - 1) return false;
      if (!step(fragmentsToken(sqlFragments))) return false;
      for (const child of children) if (!visit(child)) return false;
      return true;
    }
    if (node.kind === 'ValueNode') {
      const value = node as ValueNode;
      if (!value.immediate) {
        parameters.push(value.value);
        return step(PARAMETER);
      }
      // Inlined into the text (sql.lit): part of the shape. Only plain scalars, whose JSON names their text exactly.
      const v = value.value;
      if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return false;
      return step(`l${typeof v}${JSON.stringify(v)}`);
    }
    if (!LEAF_KINDS.has(node.kind)) return false;
    let token = leafTokens.get(node);
    if (token === undefined) {
      const compiled = LEAF_COMPILER.compileQuery(node as RootOperationNode, QUERY_ID);
      if (compiled.parameters.length > 0) return false;
      leafTokens.set(node, (token = `n${compiled.sql}`));
    }
    return step(token);
  };
  return visit(tree) ? { key: at, parameters } : undefined;
}

/**
 * A template literal's strings are one frozen array per call site: the array itself is the token. Other fragment
 * lists are made per call: sql.raw's one text, and sql.join's and sql.ref's empty fragments (their count), are
 * named by their content.
 */
function fragmentsToken(fragments: readonly string[]): unknown {
  if (Object.prototype.hasOwnProperty.call(fragments, 'raw')) return fragments;
  if (fragments.length === 1) return `r${fragments[0]}`;
  for (let i = 0; i < fragments.length; i++) if (fragments[i] !== '') return `j${JSON.stringify(fragments)}`;
  return fragments.length;
}

function sameParameters(compiled: readonly unknown[], walked: readonly unknown[]): boolean {
  return compiled.length === walked.length && compiled.every((p, i) => Object.is(p, walked[i]));
}

/** Compiles the leaf nodes (column and table references) once each; they hold no values. */
const LEAF_COMPILER = new PostgresQueryCompiler();

/** For tests: forgets every cached text. */
export function clearStatementCache(): void {
  root = new Step();
  steps = 0;
  cachedShapes = 0;
}

/** For tests: how many shapes have a cached text. */
export function cachedShapeCount(): number {
  return cachedShapes;
}

/** For tests: how many trie nodes hold the shapes (at most MAX_STEPS). */
export function stepCount(): number {
  return steps;
}
