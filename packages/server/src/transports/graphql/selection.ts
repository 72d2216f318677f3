import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { User } from '../../domain/types.ts';
import { USER_FIELDS } from '../../repositories/users.ts';

/** GraphQL fields of UserModel that need a column other than their own name. */
const IMPLIED: Record<string, keyof User> = { tenant: 'tenantId' };

/**
 * The user fields a query reads, from its selection set (through fragments), so the list query can fetch
 * just those columns. `path` names the wrapper fields to descend first (`['data']` for a page).
 * Directives are ignored: a field under `@include(if: false)` is fetched anyway, which is harmless.
 */
export function requestedUserFields(info: GraphQLResolveInfo, path: readonly string[]): readonly (keyof User)[] {
  // The parsed document is cached with its field nodes, so each field of each document is walked once. Only a
  // single node is cached: several nodes for one field (a merged selection) are walked each time.
  const node = info.fieldNodes.length === 1 ? info.fieldNodes[0] : undefined;
  const key = path.join('.');
  const cached = node && fieldsCache.get(node)?.get(key);
  if (cached) return cached;
  const fields = walkUserFields(info, path);
  if (node) {
    let byPath = fieldsCache.get(node);
    if (!byPath) fieldsCache.set(node, (byPath = new Map()));
    byPath.set(key, fields);
  }
  return fields;
}

const fieldsCache = new WeakMap<FieldNode, Map<string, (keyof User)[]>>();

function walkUserFields(info: GraphQLResolveInfo, path: readonly string[]): (keyof User)[] {
  let sets: SelectionSetNode[] = info.fieldNodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
  for (const name of path) sets = childSets(info, sets, name);
  const fields = new Set<keyof User>();
  for (const field of fieldNames(info, sets)) {
    if (USER_FIELDS.has(field as keyof User)) fields.add(field as keyof User);
    else if (IMPLIED[field]) fields.add(IMPLIED[field]);
  }
  return [...fields].sort();
}

function childSets(info: GraphQLResolveInfo, sets: SelectionSetNode[], name: string): SelectionSetNode[] {
  const out: SelectionSetNode[] = [];
  visit(info, sets, (field, set) => {
    if (field === name && set) out.push(set);
  });
  return out;
}

function fieldNames(info: GraphQLResolveInfo, sets: SelectionSetNode[]): string[] {
  const names: string[] = [];
  visit(info, sets, (field) => names.push(field));
  return names;
}

function visit(info: GraphQLResolveInfo, sets: SelectionSetNode[], onField: (name: string, set: SelectionSetNode | undefined) => void, seen = new Set<string>()): void {
  for (const set of sets) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) onField(selection.name.value, selection.selectionSet);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(info, [selection.selectionSet], onField, seen);
      else {
        const name = selection.name.value;
        const fragment = info.fragments[name];
        if (fragment && !seen.has(name)) {
          seen.add(name);
          visit(info, [fragment.selectionSet], onField, seen);
          seen.delete(name);
        }
      }
    }
  }
}
