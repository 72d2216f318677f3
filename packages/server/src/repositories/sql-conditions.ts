import { sql, type RawBuilder } from 'kysely';
import type { BooleanFilter, DateFilter, IdFilter, SortOrder, StringFilter } from '../domain/types.ts';
import { PLAN_EACH_CALL } from '../db/prepared-statements.ts';

export type Condition = RawBuilder<unknown>;

const refs = new Map<string, Condition>();
/**
 * A column reference, built once per name: Kysely parses every `sql.ref` it is given, and a list query names
 * a dozen columns, so caching these immutable builders takes that parsing off every request.
 */
export function ref(name: string): Condition {
  let built = refs.get(name);
  if (!built) refs.set(name, (built = sql.ref(name)));
  return built;
}

const planned = sql.raw(PLAN_EACH_CALL);
const generic = sql``;
/**
 * The prefix of a statement: PLAN_EACH_CALL when its best plan depends on its values (a group's size, a pattern's
 * selectivity), so it is planned for each call instead of running a generic plan (db/prepared-statements.ts).
 */
export function planEachCall(valueSensitive: boolean): Condition {
  return valueSensitive ? planned : generic;
}

/** Whether a string filter matches a pattern, whose selectivity decides the plan. */
export const matchesPattern = (f: StringFilter | null | undefined): boolean => f?.like != null || f?.iLike != null;

/** `a AND b AND ...`, or TRUE for an empty list. */
export function and(conditions: readonly Condition[]): Condition {
  return conditions.length === 0 ? sql`true` : sql`(${sql.join(conditions, sql` and `)})`;
}

/** Lists this long or shorter are sent one parameter per element (see `array`). */
export const ELEMENTS_INLINE_UP_TO = 8;

const casts = { uuid: sql.raw('::uuid'), text: sql.raw('::text') } as const;
const emptyArrays = { uuid: sql.raw(`'{}'::uuid[]`), text: sql.raw(`'{}'::text[]`) } as const;
const arrayTypes = { uuid: sql.raw('::uuid[]'), text: sql.raw('::text[]') } as const;

/**
 * An array of `values` for `= any(...)` or `unnest(...)`: `array[$1::uuid, $2::uuid]` when it is short,
 * `$1::uuid[]` when it is long.
 *
 * Why: a named statement runs a generic plan only if PostgreSQL estimates it no dearer than the plans it makes for
 * each call's values, and the generic plan of an array parameter counts 10 elements where a call's plan sees the
 * real count. For the usual call with one id the generic plan thus looks ten times dearer, and PostgreSQL planned
 * every call anew: 0.5-0.6 ms of its CPU per single membership change and 4 ms per effective-permissions query at
 * 1M users, several times what running them cost. An `array[...]` of n parameters counts n in both plans, so the
 * generic plan wins after five calls and planning stops. Each length up to ELEMENTS_INLINE_UP_TO is its own
 * statement; longer lists, where planning is small beside the work, keep one.
 */
export function array(values: readonly string[], type: 'uuid' | 'text'): Condition {
  if (values.length === 0) return emptyArrays[type];
  if (values.length > ELEMENTS_INLINE_UP_TO) return sql`${[...values]}${arrayTypes[type]}`;
  return sql`array[${sql.join(values.map((v) => sql`${v}${casts[type]}`))}]`;
}

type Cast = 'text' | 'uuid' | 'none';
const cast = (value: unknown, to: Cast): Condition => (to === 'none' ? sql`${value}` : sql`${value}::${sql.raw(to)}`);

/** ROQ semantics: `equalTo: null` is IS NULL, `notEqualTo: null` is IS NOT NULL; other null operators are ignored. */
function equality<T>(column: Condition, f: { equalTo?: T | null; notEqualTo?: T | null }, to: Cast): Condition[] {
  const out: Condition[] = [];
  if (f.equalTo === null) out.push(sql`${column} is null`);
  else if (f.equalTo !== undefined) out.push(sql`${column} = ${cast(f.equalTo, to)}`);
  if (f.notEqualTo === null) out.push(sql`${column} is not null`);
  else if (f.notEqualTo !== undefined) out.push(sql`${column} is distinct from ${cast(f.notEqualTo, to)}`);
  return out;
}

function membership(column: Condition, f: { valueIn?: readonly string[] | null; valueNotIn?: readonly string[] | null }, to: 'text' | 'uuid'): Condition[] {
  const out: Condition[] = [];
  if (f.valueIn) out.push(sql`${column} = any(${array(f.valueIn, to)})`);
  if (f.valueNotIn) out.push(sql`not (${column} = any(${array(f.valueNotIn, to)}))`);
  return out;
}

export function stringConditions(column: Condition, f: StringFilter | null | undefined): Condition[] {
  if (!f) return [];
  const out = [...equality(column, f, 'text'), ...membership(column, f, 'text')];
  if (f.like != null) out.push(sql`${column} like ${f.like}`);
  if (f.iLike != null) out.push(sql`${column} ilike ${f.iLike}`);
  return out;
}

export function idConditions(column: Condition, f: IdFilter | null | undefined): Condition[] {
  return f ? [...equality(column, f, 'uuid'), ...membership(column, f, 'uuid')] : [];
}

export function booleanConditions(column: Condition, f: BooleanFilter | null | undefined): Condition[] {
  return f ? equality(column, f, 'none') : [];
}

export function dateConditions(column: Condition, f: DateFilter | null | undefined): Condition[] {
  if (!f) return [];
  const out: Condition[] = [];
  const ops: [keyof DateFilter, string][] = [
    ['equalTo', '='],
    ['notEqualTo', '<>'],
    ['lessThan', '<'],
    ['lessThanEqual', '<='],
    ['moreThan', '>'],
    ['moreThanEqual', '>='],
  ];
  for (const [key, op] of ops) {
    const value = f[key];
    if (value != null) out.push(sql`${column} ${sql.raw(op)} ${value.toISOString()}::timestamptz`);
  }
  if (f.equalTo === null) out.push(sql`${column} is null`);
  return out;
}

/** `ORDER BY col dir, id dir`: the id tie-breaker makes offset paging stable. */
export function orderBy(column: Condition, idColumn: Condition, order: SortOrder): Condition {
  const dir = sql.raw(order === 'ASC' ? 'asc' : 'desc');
  return sql`${column} ${dir}, ${idColumn} ${dir}`;
}

/** Escapes LIKE wildcards so a caller's text is matched literally (for `search`). */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
