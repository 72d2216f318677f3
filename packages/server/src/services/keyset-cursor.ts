import { createHash } from 'node:crypto';
import { Errors } from '../errors.ts';
import * as v from './validate.ts';

/**
 * A keyset cursor for a sorted list: the sort value and id of the last row seen, so the next page starts with a
 * range scan of the sort index instead of skipping `offset` rows (as fast at row 1,000,000 as at row 0).
 *
 * The cursor also carries a digest of the query it was made for (filter, search, sort and order): one used with a
 * different query is refused instead of silently returning rows of another list.
 */
export interface KeysetPosition {
  /** The sort column's value as PostgreSQL prints it (`::text`), or null; exact to the microsecond. */
  readonly value: string | null;
  readonly id: string;
}

/** A digest of what a list is: the same list yields the same digest, on every node. */
export function listDigest(query: unknown): string {
  return createHash('sha256').update(JSON.stringify(query)).digest('base64url').slice(0, 12);
}

export function encodeKeyset(digest: string, position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([digest, position.value, position.id]), 'utf8').toString('base64url');
}

/**
 * The position a cursor holds; `field` names the argument in errors. The value is checked against the sort
 * column's type by the caller (a timestamp with `validate.isPgTimestamp`), before any SQL.
 */
export function decodeKeyset(raw: string, digest: string, field = 'after'): KeysetPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    (parsed[1] !== null && typeof parsed[1] !== 'string') ||
    typeof parsed[2] !== 'string' ||
    !v.isUuid(parsed[2]) ||
    // PostgreSQL's text holds no NUL: a forged value with one would fail in the database instead of here.
    (typeof parsed[1] === 'string' && (parsed[1].length > 1024 || parsed[1].includes('\u0000')))
  ) {
    throw Errors.invalid(field, 'is not a cursor returned by this API');
  }
  if (parsed[0] !== digest) {
    throw Errors.invalid(field, 'was returned for a different filter, search or order; use it with the same arguments');
  }
  return { value: parsed[1] as string | null, id: parsed[2] };
}
