import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface ApiKeyRecord {
  id: string;
  prefix: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  replacedBy: string | null;
}

export interface ActiveKeyHash {
  id: string;
  hash: string;
  expiresAt: Date | null;
}

const toRecord = (r: {
  id: string;
  prefix: string;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  replaced_by: string | null;
}): ApiKeyRecord => ({
  id: r.id,
  prefix: r.prefix,
  name: r.name,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  replacedBy: r.replaced_by,
});

const COLUMNS = ['id', 'prefix', 'name', 'created_at', 'last_used_at', 'expires_at', 'revoked_at', 'replaced_by'] as const;

/** Keys that authenticate now: not revoked and not past their expiry. */
export async function activeKeyHashes(db: Db): Promise<ActiveKeyHash[]> {
  const rows = await db
    .selectFrom('api_keys')
    .select(['id', 'hash', 'expires_at'])
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .execute();
  return rows.map((r) => ({ id: r.id, hash: r.hash, expiresAt: r.expires_at }));
}

export async function insertApiKey(db: Db, key: { id: string; prefix: string; hash: string; name: string; expiresAt: Date | null }): Promise<ApiKeyRecord> {
  const row = await db
    .insertInto('api_keys')
    .values({ id: key.id, prefix: key.prefix, hash: key.hash, name: key.name, expires_at: key.expiresAt })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export async function findApiKey(db: Db, id: string): Promise<ApiKeyRecord | undefined> {
  const row = await db.selectFrom('api_keys').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

/** Newest first. */
export async function listApiKeys(db: Db, includeRevoked: boolean): Promise<ApiKeyRecord[]> {
  let q = db.selectFrom('api_keys').select(COLUMNS);
  if (!includeRevoked) q = q.where('revoked_at', 'is', null);
  const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1000).execute();
  return rows.map(toRecord);
}

export async function revokeApiKey(db: Db, id: string): Promise<ApiKeyRecord | undefined> {
  const row = await db
    .updateTable('api_keys')
    .set({ revoked_at: sql`coalesce(revoked_at, now())` as never })
    .where('id', '=', id)
    .returning(COLUMNS)
    .executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

/** The old key of a rotation stays valid until `expiresAt` (now, without a grace period). */
export async function retireApiKey(db: Db, id: string, replacedBy: string, expiresAt: Date): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ replaced_by: replacedBy, expires_at: sql`least(coalesce(expires_at, ${expiresAt}), ${expiresAt})` as never })
    .where('id', '=', id)
    .execute();
}

export async function touchApiKey(db: Db, id: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: sql`now()` as never }).where('id', '=', id).execute();
}

export async function countActiveKeys(db: Db): Promise<number> {
  const row = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
