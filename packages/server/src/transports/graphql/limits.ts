import {
  GraphQLError,
  Kind,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValidationRule,
  type ValueNode,
} from 'graphql';

/**
 * Bounds the size of a query: the number of field selections in the document (aliases included), so a
 * single request cannot ask for the same expensive field thousands of times. Depth is bounded separately.
 */
export function maxFieldsRule(maxFields: number): ValidationRule {
  return (context) => {
    let fields = 0;
    return {
      Field() {
        fields++;
      },
      Document: {
        leave() {
          if (fields > maxFields) {
            context.reportError(
              new GraphQLError(`query: selects ${fields} fields, more than the limit of ${maxFields}`, {
                extensions: { code: 'BAD_USER_INPUT', field: 'query' },
              }),
            );
          }
        },
      },
    };
  };
}

/**
 * The most rows a query may return, counting each paginated list (a field with a `limit` or `first` argument, or
 * a list field without one, at the default page size) as its page size times the pages of every list around it:
 * `users(limit: 1000) { userGroups(limit: 100) }` costs 1,000 + 100,000. Page sizes given as variables are read,
 * and a variable the request leaves out counts at its declared default (`query($l: Int = 1000)`), as GraphQL runs it.
 * Computed per request (the document is cached, the variables are not), before execution; a document whose cost
 * reads no variable is costed once (see `cachedQueryCost`).
 */
export function queryCost(document: DocumentNode, variables: Record<string, unknown> | undefined, defaultPageSize: number, stopAbove: number): number {
  return costOf(document, variables, defaultPageSize, stopAbove).cost;
}

const fixedCosts = new WeakMap<DocumentNode, number>();

/**
 * `queryCost`, remembered for the parsed document (Mercurius caches those) when no variable decided it: most
 * documents sent again and again, a lookup for instance, cost the same whatever their variables.
 */
export function cachedQueryCost(document: DocumentNode, variables: Record<string, unknown> | undefined, defaultPageSize: number, stopAbove: number): number {
  const fixed = fixedCosts.get(document);
  if (fixed !== undefined) return fixed;
  const { cost, readVariables } = costOf(document, variables, defaultPageSize, stopAbove);
  if (!readVariables) fixedCosts.set(document, cost);
  return cost;
}

function costOf(
  document: DocumentNode,
  given: Record<string, unknown> | undefined,
  defaultPageSize: number,
  stopAbove: number,
): { cost: number; readVariables: boolean } {
  let readVariables = false;
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  // Each operation is costed with its own variables' declared defaults: two operations of one document may both
  // declare `$l`, with different defaults. Fragments are costed inside the operation that spreads them.
  const costOfOperation = (operation: OperationDefinitionNode): number => {
    const defaults = new Map((operation.variableDefinitions ?? []).map((v) => [v.variable.name.value, v.defaultValue] as const));
    // The value execution sees, as GraphQL coerces it: a variable the request does not pass takes its declared
    // default (`query($l: Int = 1000)` pages by 1,000 when `l` is left out); one passed, even as null, does not.
    // `undefined` when neither gives one.
    const valueOf = (node: ValueNode | undefined): unknown => {
      if (node === undefined) return undefined;
      if (node.kind === Kind.INT) return Number(node.value);
      if (node.kind === Kind.BOOLEAN) return node.value;
      if (node.kind === Kind.NULL) return null;
      if (node.kind !== Kind.VARIABLE) return undefined;
      readVariables = true;
      const name = node.name.value;
      if (given !== undefined && Object.hasOwn(given, name) && given[name] !== undefined) return given[name];
      return valueOf(defaults.get(name));
    };
    const pageSize = (field: FieldNode): number | undefined => {
      const arg = field.arguments?.find((a) => PAGE_SIZE_ARGUMENTS.has(a.name.value));
      if (!arg) return field.selectionSet && LIST_FIELDS.has(field.name.value) ? defaultPageSize : undefined;
      const value = valueOf(arg.value);
      // Absent or null: the resolvers page by the default size. A value the resolvers refuse (negative, not an
      // integer) or GraphQL refuses (not a number) runs nothing: counted at the default size too.
      return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : defaultPageSize;
    };
    // A selection left out by `@include(if: false)` or `@skip(if: true)` costs nothing: clients such as
    // @roster/client send one document per operation with every relation behind such a flag. Only a real boolean
    // leaves a selection out; anything else GraphQL refuses or keeps the selection.
    const condition = (node: DirectiveNode | undefined): boolean | undefined => {
      const value = valueOf(node?.arguments?.find((a) => a.name.value === 'if')?.value);
      return typeof value === 'boolean' ? value : undefined;
    };
    const excluded = (selection: SelectionNode): boolean =>
      condition(selection.directives?.find((d) => d.name.value === 'include')) === false ||
      condition(selection.directives?.find((d) => d.name.value === 'skip')) === true;
    const cost = (set: SelectionSetNode | undefined, multiplier: number, seen: ReadonlySet<string>): number => {
      let total = 0;
      for (const selection of set?.selections ?? []) {
        if (excluded(selection)) continue;
        if (selection.kind === Kind.FIELD) {
          const size = pageSize(selection);
          const inner = size === undefined ? multiplier : multiplier * size;
          total += (size === undefined ? 0 : inner) + cost(selection.selectionSet, inner, seen);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          total += cost(selection.selectionSet, multiplier, seen);
        } else if (!seen.has(selection.name.value)) {
          total += cost(fragments.get(selection.name.value)?.selectionSet, multiplier, new Set([...seen, selection.name.value]));
        }
        if (total > stopAbove) break;
      }
      return total;
    };
    return cost(operation.selectionSet, 1, new Set());
  };
  let total = 0;
  for (const d of document.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION) total += costOfOperation(d);
    if (total > stopAbove) break;
  }
  return { cost: total, readVariables };
}

// The arguments that set a page size: `limit` on the offset-paged lists, `first` on the keyset-paged ones
// (`userGroupMembers`, `auditEvents`). No input object of the schema carries a page size.
const PAGE_SIZE_ARGUMENTS = new Set(['limit', 'first']);
// List fields that page by default when no page size is given.
const LIST_FIELDS = new Set(['users', 'userGroups', 'managers', 'roles', 'tenants', 'userProfiles', 'auditEvents', 'userGroupMembers']);
