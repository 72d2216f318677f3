import { GraphQLError, Kind, type DirectiveNode, type DocumentNode, type FieldNode, type SelectionNode, type SelectionSetNode, type ValidationRule } from 'graphql';

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
 * `users(limit: 1000) { userGroups(limit: 100) }` costs 1,000 + 100,000. Page sizes given as variables are read.
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
  const variable = (name: string): unknown => {
    readVariables = true;
    return given?.[name];
  };
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const pageSize = (field: FieldNode): number | undefined => {
    const arg = field.arguments?.find((a) => a.name.value === 'limit' || a.name.value === 'first');
    if (!arg) return field.selectionSet && LIST_FIELDS.has(field.name.value) ? defaultPageSize : undefined;
    const value = arg.value.kind === Kind.VARIABLE ? variable(arg.value.name.value) : arg.value.kind === Kind.INT ? Number(arg.value.value) : undefined;
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : defaultPageSize;
  };
  // A selection left out by `@include(if: false)` or `@skip(if: true)` costs nothing: clients such as
  // @roster/client send one document per operation with every relation behind such a flag.
  const condition = (node: DirectiveNode | undefined): boolean | undefined => {
    const value = node?.arguments?.find((a) => a.name.value === 'if')?.value;
    if (value?.kind === Kind.BOOLEAN) return value.value;
    if (value?.kind !== Kind.VARIABLE) return undefined;
    const passed = variable(value.name.value);
    return passed === undefined || passed === null ? defaults.get(value.name.value) : passed === true;
  };
  const defaults = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.OPERATION_DEFINITION
        ? (d.variableDefinitions ?? []).flatMap((v) => (v.defaultValue?.kind === Kind.BOOLEAN ? [[v.variable.name.value, v.defaultValue.value] as const] : []))
        : [],
    ),
  );
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
  let total = 0;
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) total += cost(d.selectionSet, 1, new Set());
  return { cost: total, readVariables };
}

// List fields that page by default when no page size is given.
const LIST_FIELDS = new Set(['users', 'userGroups', 'managers', 'roles', 'tenants', 'userProfiles', 'auditEvents', 'userGroupMembers']);
