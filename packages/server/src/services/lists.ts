import { Errors } from '../errors.ts';
import type { Config } from '../config.ts';
import type { ListArgs, SortOrder } from '../domain/types.ts';
import { filterBounds } from './validate.ts';

export interface Paging<S extends string> {
  readonly sort: S;
  readonly order: SortOrder;
  readonly limit: number;
  readonly offset: number;
}

/**
 * `limit` defaults to the configured default and may not exceed the cap; order defaults to `createdAt DESC`. Every
 * list and string of the filter is bounded here, the one door of every listing, before anything else reads it.
 */
export function paging<F, S extends string>(config: Config, args: ListArgs<F, S>, sorts: readonly S[], defaultSort: S): Paging<S> {
  filterBounds('filter', args.filter, { maxEntries: config.limits.filterList, maxLength: config.limits.stringLength }, ['filter.customData.contains']);
  filterBounds('search', args.search, { maxEntries: config.limits.filterList, maxLength: config.limits.stringLength });
  const limit = args.limit ?? config.limits.listDefault;
  const offset = args.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0) throw Errors.invalid('limit', 'must be a non-negative integer');
  if (limit > config.limits.listMax) throw Errors.invalid('limit', `must be at most ${config.limits.listMax}`, { max: config.limits.listMax });
  if (!Number.isInteger(offset) || offset < 0) throw Errors.invalid('offset', 'must be a non-negative integer');
  const sort = args.order?.sort ?? defaultSort;
  if (!sorts.includes(sort)) throw Errors.invalid('order.sort', `must be one of ${sorts.join(', ')}`);
  return { sort, order: args.order?.order ?? 'DESC', limit, offset };
}
