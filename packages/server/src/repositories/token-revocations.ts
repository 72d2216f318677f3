import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

export interface TokenRevocation {
  readonly userId: string;
  readonly notBefore: Date;
}

/**
 * Ends the tokens of `userId` issued before `notBefore` (a later revocation replaces an earlier one). Run inside the
 * transaction or statement of the change that ends the user's grants.
 */
export async function revokeTokens(db: Db, userId: string, notBefore: Date): Promise<void> {
  await db
    .insertInto('token_revocations')
    .values({ user_id: userId, not_before: notBefore })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ not_before: notBefore, recorded_at: sql`now()` }))
    .execute();
}

/**
 * Revocations recorded since `since` that still matter: a revocation older than the longest token lifetime has
 * nothing left to end. `since` undefined: all of them. Returns the database's clock too, for the next call.
 */
export async function revocationsSince(db: Db, since: Date | undefined, maxTokenLifetimeSeconds: number): Promise<{ rows: TokenRevocation[]; now: Date }> {
  let query = db
    .selectFrom('token_revocations')
    .select(['user_id', 'not_before', sql<Date>`now()`.as('now')])
    .where('not_before', '>', sql<Date>`now() - make_interval(secs => ${maxTokenLifetimeSeconds})`);
  if (since) query = query.where('recorded_at', '>=', since);
  const rows = await query.execute();
  const now = rows[0]?.now ?? (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0]!.now;
  return { rows: rows.map((r) => ({ userId: r.user_id, notBefore: r.not_before })), now };
}

/** Removes revocations older than the longest token lifetime: every token they ended has expired. */
export async function pruneRevocations(db: Db, maxTokenLifetimeSeconds: number): Promise<void> {
  await db.deleteFrom('token_revocations').where('not_before', '<', sql<Date>`now() - make_interval(secs => ${maxTokenLifetimeSeconds})`).execute();
}
