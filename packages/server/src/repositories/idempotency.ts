import { executeCached } from '../db/statement-cache.ts';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface StoredResponse {
  readonly status: number;
  readonly body: string;
  readonly contentType: string | null;
  /** Response headers worth replaying (ETag). */
  readonly headers: Readonly<Record<string, string>>;
}

export type Claim =
  | { readonly kind: 'owned' }
  | { readonly kind: 'done'; readonly requestHash: string; readonly response: StoredResponse }
  | { readonly kind: 'pending'; readonly requestHash: string };

/**
 * Claims `key` for a request in one statement: a new key, an expired one, or one whose previous holder crashed
 * (still pending past its lock, same request) becomes ours; otherwise the existing record is returned.
 */
export async function claimKey(db: Db, principal: string, key: string, requestHash: string, lockSeconds: number, ttlHours: number): Promise<Claim> {
  const { rows } = await executeCached(sql<{ principal: string }>`
    insert into idempotency_keys as k (principal, key, request_hash, state, locked_until)
    values (${principal}, ${key}, ${requestHash}, 'pending', now() + make_interval(secs => ${lockSeconds}))
    on conflict (principal, key) do update set
      request_hash = excluded.request_hash, state = 'pending', locked_until = excluded.locked_until, created_at = now(),
      response_status = null, response_body = null, response_type = null, response_headers = null
    where k.created_at < now() - make_interval(hours => ${ttlHours})
       or (k.state = 'pending' and k.locked_until < now() and k.request_hash = excluded.request_hash)
    returning principal`, db);
  if (rows.length > 0) return { kind: 'owned' };
  const existing = await db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'state', 'response_status', 'response_body', 'response_type', 'response_headers'])
    .where('principal', '=', principal)
    .where('key', '=', key)
    .executeTakeFirst();
  // Deleted in between (its holder failed): whoever retries next claims it.
  if (!existing) return { kind: 'pending', requestHash };
  if (existing.state === 'done' && existing.response_status !== null) {
    return { kind: 'done', requestHash: existing.request_hash, response: { status: existing.response_status, body: existing.response_body ?? '', contentType: existing.response_type, headers: existing.response_headers ?? {} } };
  }
  return { kind: 'pending', requestHash: existing.request_hash };
}

export async function completeKey(db: Db, principal: string, key: string, response: StoredResponse): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ state: 'done', response_status: response.status, response_body: response.body, response_type: response.contentType, response_headers: JSON.stringify(response.headers) })
    .where('principal', '=', principal)
    .where('key', '=', key)
    .execute();
}

export async function releaseKey(db: Db, principal: string, key: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('principal', '=', principal).where('key', '=', key).where('state', '=', 'pending').execute();
}

export async function purgeExpired(db: Db, ttlHours: number): Promise<void> {
  await executeCached(sql`delete from idempotency_keys where created_at < now() - make_interval(hours => ${ttlHours})`, db);
}
