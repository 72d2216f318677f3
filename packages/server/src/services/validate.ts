import { Errors } from '../errors.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is the caller's business.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_RE = /^\+?[0-9][0-9 ().-]{2,31}$/;
const TIMEZONE_RE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

export const isUuid = (v: string): boolean => UUID_RE.test(v);

const PG_TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)?$/;
/** A timestamp as PostgreSQL prints one (or ISO-8601): what a cursor may carry. */
export const isPgTimestamp = (v: string): boolean => PG_TIMESTAMP_RE.test(v);

export function uuid(field: string, v: string): string {
  if (!isUuid(v)) throw Errors.invalid(field, 'must be a UUID');
  return v.toLowerCase();
}

export function text(field: string, v: string, opts: { min?: number; max: number }): string {
  if (typeof v !== 'string') throw Errors.invalid(field, 'must be a string');
  if (v.length < (opts.min ?? 0)) throw Errors.invalid(field, opts.min === 1 ? 'must not be empty' : `must have at least ${opts.min} characters`);
  if (v.length > opts.max) throw Errors.invalid(field, `must have at most ${opts.max} characters`);
  if (v.includes('\u0000')) throw Errors.invalid(field, 'must not contain NUL characters');
  return v;
}

export function email(field: string, v: string): string {
  text(field, v, { min: 1, max: 255 });
  if (!EMAIL_RE.test(v)) throw Errors.invalid(field, 'must be an email address');
  return v;
}

export function phone(field: string, v: string): string {
  if (!PHONE_RE.test(v)) throw Errors.invalid(field, 'must be a phone number (digits, optional leading +)');
  return v;
}

/** BCP 47 language tag, returned in canonical case (`en-Us` → `en-US`). */
export function locale(field: string, v: string): string {
  text(field, v, { min: 1, max: 35 });
  try {
    const [canonical] = Intl.getCanonicalLocales(v);
    if (canonical) return canonical;
  } catch {
    // falls through to the error below
  }
  throw Errors.invalid(field, 'must be a BCP 47 locale such as en-US');
}

/** IANA time zone name, as the runtime's time zone database knows it. */
export function timezone(field: string, v: string): string {
  text(field, v, { min: 1, max: 64 });
  if (TIMEZONE_RE.test(v)) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: v });
      return v;
    } catch {
      // falls through to the error below
    }
  }
  throw Errors.invalid(field, 'must be an IANA time zone such as Europe/Berlin');
}

export function url(field: string, v: string): string {
  text(field, v, { max: 2048 });
  if (v === '') return v;
  try {
    const parsed = new URL(v);
    if (parsed.protocol === 'https:' || parsed.protocol === 'http:') return v;
  } catch {
    // falls through
  }
  throw Errors.invalid(field, 'must be an http(s) URL');
}

const JSON_DEPTH_MAX = 32;

/** Nesting depth of a JSON value, without recursion (a hostile value may be nested thousands deep). */
function depthExceeds(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}

export function jsonObject(field: string, v: unknown, maxBytes: number): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw Errors.invalid(field, 'must be a JSON object');
  if (depthExceeds(v, JSON_DEPTH_MAX)) throw Errors.invalid(field, `must not be nested deeper than ${JSON_DEPTH_MAX} levels`);
  const size = Buffer.byteLength(JSON.stringify(v), 'utf8');
  if (size > maxBytes) throw Errors.invalid(field, `must be at most ${maxBytes} bytes as JSON (got ${size})`);
  if (JSON.stringify(v).includes('\\u0000')) throw Errors.invalid(field, 'must not contain NUL characters');
  return v as Record<string, unknown>;
}

export function list<T>(field: string, v: readonly T[], max: number): readonly T[] {
  if (v.length > max) throw Errors.invalid(field, `must have at most ${max} entries (got ${v.length})`, { max });
  return v;
}

/** Removes duplicates, keeping the first occurrence's position. */
export const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];

interface IdFilterLike {
  equalTo?: string | null;
  notEqualTo?: string | null;
  valueIn?: readonly string[] | null;
  valueNotIn?: readonly string[] | null;
  all?: readonly string[] | null;
}

/** Checks that every id in the named id filters of `filter` is a UUID, so the database never sees a malformed one. */
export function idFilters<F extends object>(filter: F, keys: readonly (keyof F & string)[]): void {
  for (const key of keys) {
    const f = filter[key] as IdFilterLike | null | undefined;
    if (!f) continue;
    for (const op of ['equalTo', 'notEqualTo'] as const) {
      const value = f[op];
      if (value != null) uuid(`filter.${key}.${op}`, value);
    }
    for (const op of ['valueIn', 'valueNotIn', 'all'] as const) {
      const values = f[op];
      if (values) {
        list(`filter.${key}.${op}`, values, 10_000);
        for (const value of values) uuid(`filter.${key}.${op}`, value);
      }
    }
  }
}

/** An expected version for optimistic concurrency: a positive integer. */
export function version(field: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw Errors.invalid(field, 'must be a positive integer (the version you last read)');
  return v;
}
