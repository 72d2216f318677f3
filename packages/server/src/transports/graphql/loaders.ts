import DataLoader from 'dataloader';
import type { EffectivePermission, NestedQuery, PageInfo, RequestContext, Tenant, User, UserGroupType } from '../../domain/types.ts';
import type { Services } from '../../services/index.ts';

/** What a nested list field resolves to: the page's rows, and its total only if the client selects it. */
export interface PageResult<T> {
  readonly data: T[] | Promise<T[]>;
  count(): Promise<number>;
  /** Top-level lists with keyset cursors only. */
  readonly pageInfo?: PageInfo;
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
  #tenantById?: DataLoader<string, Tenant | undefined>;
  #groupTypeByName?: DataLoader<string, UserGroupType | undefined>;
  #tenantUserCount?: DataLoader<string, number>;
  #roleUserCount?: DataLoader<string, number>;
  #effectivePermissions?: DataLoader<User, EffectivePermission[], string>;

  // Loaders are made on first use: most requests (a lookup, a mutation) need none of them.
  constructor(
    private readonly services: Services,
    private readonly countRoleUsers: (ids: readonly string[]) => Promise<Map<string, number>>,
  ) {}

  get tenantById(): DataLoader<string, Tenant | undefined> {
    return (this.#tenantById ??= new DataLoader(async (ids) => {
      const found = new Map((await this.services.tenants.byIds(ids)).map((t) => [t.id, t]));
      return ids.map((id) => found.get(id));
    }));
  }

  get groupTypeByName(): DataLoader<string, UserGroupType | undefined> {
    return (this.#groupTypeByName ??= new DataLoader(async (names) => {
      const found = new Map((await this.services.groups.types(names)).map((t) => [t.name, t]));
      return names.map((n) => found.get(n));
    }));
  }

  /** Every user on a page asks in the same tick: one statement for all their grants. */
  effectivePermissions(ctx: RequestContext): DataLoader<User, EffectivePermission[], string> {
    return (this.#effectivePermissions ??= new DataLoader((users) => this.services.roles.effectivePermissionsOfUsers(ctx, users), {
      cacheKeyFn: (u) => u.id,
    }));
  }

  get tenantUserCount(): DataLoader<string, number> {
    return (this.#tenantUserCount ??= new DataLoader(async (ids) => {
      const counts = await this.services.tenants.countUsers(ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }));
  }

  get roleUserCount(): DataLoader<string, number> {
    return (this.#roleUserCount ??= new DataLoader(async (ids) => {
      const counts = await this.countRoleUsers(ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }));
  }

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
    // Lazy: the rows load only if `data` is selected. An eager load that nobody awaited (only `totalCount`
    // selected) would end, if it failed, as an unhandled rejection.
    return {
      get data() {
        return list.load(parentId);
      },
      count: () => count.load(parentId),
    };
  }
}
