import DataLoader from 'dataloader';
import type { NestedQuery, Tenant, UserGroupType } from '../../domain/types.ts';
import type { Services } from '../../services/index.ts';

/** What a nested list field resolves to: the page's rows, and its total only if the client selects it. */
export interface PageResult<T> {
  readonly data: T[] | Promise<T[]>;
  count(): Promise<number>;
}

interface NestedLoaders<T> {
  list: DataLoader<string, T[]>;
  count: DataLoader<string, number>;
}

/**
 * Per-request batching. Every parent on a page asks for its children in the same tick; DataLoader gathers the
 * parent ids, and one statement per (field, arguments) pair answers them all, so a page of 100 groups with
 * their users costs one query per level, not 101.
 */
export class RequestLoaders {
  #nested = new Map<string, NestedLoaders<unknown>>();
  readonly tenantById: DataLoader<string, Tenant | undefined>;
  readonly groupTypeByName: DataLoader<string, UserGroupType | undefined>;
  readonly tenantUserCount: DataLoader<string, number>;

  constructor(services: Services, countRoleUsers: (ids: readonly string[]) => Promise<Map<string, number>>) {
    this.tenantById = new DataLoader(async (ids) => {
      const found = new Map((await services.tenants.byIds(ids)).map((t) => [t.id, t]));
      return ids.map((id) => found.get(id));
    });
    this.groupTypeByName = new DataLoader(async (names) => {
      const found = new Map((await services.groups.types(names)).map((t) => [t.name, t]));
      return names.map((n) => found.get(n));
    });
    this.tenantUserCount = new DataLoader(async (ids) => {
      const counts = await services.tenants.countUsers(ids);
      return ids.map((id) => counts.get(id) ?? 0);
    });
    this.roleUserCount = new DataLoader(async (ids) => {
      const counts = await countRoleUsers(ids);
      return ids.map((id) => counts.get(id) ?? 0);
    });
  }

  readonly roleUserCount: DataLoader<string, number>;

  /** The page of children of `parentId` for `field` called with `args`; `make` builds the batched query once. */
  page<T>(field: string, args: unknown, parentId: string, make: () => NestedQuery<T>): PageResult<T> {
    const key = `${field}:${JSON.stringify(args)}`;
    let loaders = this.#nested.get(key) as NestedLoaders<T> | undefined;
    if (!loaders) {
      const query = make();
      loaders = {
        list: new DataLoader(async (ids) => {
          const rows = await query.list(ids);
          return ids.map((id) => rows.get(id) ?? []);
        }),
        count: new DataLoader(async (ids) => {
          const counts = await query.count(ids);
          return ids.map((id) => counts.get(id) ?? 0);
        }),
      };
      this.#nested.set(key, loaders as NestedLoaders<unknown>);
    }
    const { list, count } = loaders;
    return { data: list.load(parentId), count: () => count.load(parentId) };
  }
}
