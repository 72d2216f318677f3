import { Errors } from '../errors.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is the caller's business.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_RE = /^\+?[0-9][0-9 ().-]{2,31}$/;
const TIMEZONE_RE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

export const isUuid = (v: string): boolean => UUID_RE.test(v);

const PG_TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:([+-])(\d{2})(?::?(\d{2})(?::?(\d{2}))?)?|Z)?$/;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
/** PostgreSQL refuses a UTC offset of 16 hours or more (SQLSTATE 22009). */
export const PG_MAX_OFFSET_HOURS = 15;

/**
 * A timestamp as PostgreSQL prints one (or ISO-8601), within what PostgreSQL accepts: what a cursor may carry.
 * Years 0001-9999 (four digits, no BC), a real calendar date and time of day, and a UTC offset up to ±15:59:59, so
 * a forged cursor is refused here instead of failing its cast in the database.
 */
export function isPgTimestamp(v: string): boolean {
  const m = PG_TIMESTAMP_RE.exec(v);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return false;
  if (month === 2 && day === 29 && !isLeapYear(year)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (m[7] !== undefined && (Number(m[8]) > PG_MAX_OFFSET_HOURS || Number(m[9] ?? 0) > 59 || Number(m[10] ?? 0) > 59)) return false;
  return true;
}

/**
 * The instants Roster accepts as input: years 0001 to 9999 in UTC. Both PostgreSQL and JavaScript hold them, and
 * `toISOString()` prints them as PostgreSQL reads them (a later year would print as `+275760-09-13T...`, which
 * PostgreSQL refuses; year 0 does not exist in PostgreSQL).
 */
export const DATE_MIN = new Date('0001-01-01T00:00:00.000Z');
export const DATE_MAX = new Date('9999-12-31T23:59:59.999Z');
export const DATE_RANGE_TEXT = 'between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z';

/** A valid Date within DATE_MIN..DATE_MAX. */
export const isDateInRange = (d: Date): boolean =>
  d instanceof Date && d.getTime() >= DATE_MIN.getTime() && d.getTime() <= DATE_MAX.getTime();

const MALFORMED_DATE = 'must be an ISO-8601 date-time such as 2023-08-08T01:25:38.821Z';
const DATE_OUT_OF_RANGE = `must be a date-time ${DATE_RANGE_TEXT}`;

/** An instant to compare with or store in a timestamptz column: refused (naming `field`) outside years 0001-9999. */
export function date(field: string, d: Date): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw Errors.invalid(field, MALFORMED_DATE);
  if (!isDateInRange(d)) throw Errors.invalid(field, DATE_OUT_OF_RANGE);
  return d;
}

const ISO_DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The instant of an ISO-8601 date-time string (a date alone is midnight UTC), or why it is refused (a message to
 * follow the input's name): not such a string, no calendar date (2021-02-29), or outside years 0001-9999 in UTC.
 */
export function readDateTime(s: unknown): Date | { problem: string } {
  const m = typeof s === 'string' && s.length <= 64 ? ISO_DATE_TIME_RE.exec(s) : null;
  if (!m) return { problem: MALFORMED_DATE };
  const [year, month, day] = m.slice(1, 4).map(Number) as [number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]! || (month === 2 && day === 29 && !isLeapYear(year))) {
    return { problem: MALFORMED_DATE };
  }
  const d = new Date(s as string);
  if (Number.isNaN(d.getTime())) return { problem: MALFORMED_DATE };
  return isDateInRange(d) ? d : { problem: DATE_OUT_OF_RANGE };
}

/** An ISO-8601 date-time string → its instant; refused, naming `field`, as readDateTime says. */
export function dateTime(field: string, s: string): Date {
  const d = readDateTime(s);
  if (d instanceof Date) return d;
  throw Errors.invalid(field, d.problem);
}

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

/**
 * Bounds every list and string inside a filter object, wherever it sits (`filter.email.valueIn`, `filter.search`,
 * `filter.userGroupName.all`): a filter's cost grows with them, so each is refused past the configured sizes before
 * any SQL runs. `skip` names subtrees bounded by their own rule (a JSON object such as `customData.contains`).
 */
export function filterBounds(field: string, filter: unknown, bounds: { maxEntries: number; maxLength: number }, skip: readonly string[] = []): void {
  const stack: [string, unknown][] = [[field, filter]];
  while (stack.length > 0) {
    const [path, value] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.length > bounds.maxLength) throw Errors.invalid(path, `must have at most ${bounds.maxLength} characters`, { max: bounds.maxLength });
    } else if (Array.isArray(value)) {
      list(path, value, bounds.maxEntries);
      for (const entry of value) stack.push([path, entry]);
    } else if (typeof value === 'object' && value !== null && !skip.includes(path)) {
      for (const [key, child] of Object.entries(value)) stack.push([`${path}.${key}`, child]);
    }
  }
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
      // Their length is bounded with every other list of a filter (filterBounds, in paging()).
      if (values) for (const value of values) uuid(`filter.${key}.${op}`, value);
    }
  }
}

/** An expected version for optimistic concurrency: a positive integer. */
export function version(field: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw Errors.invalid(field, 'must be a positive integer (the version you last read)');
  return v;
}
