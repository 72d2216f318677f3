import { executeCached } from '../db/statement-cache.ts';
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import { array } from './sql-conditions.ts';

export interface AuditRow {
  id: string;
  tenantId: string | null;
  actorKind: string;
  actorId: string | null;
  operation: string;
  targetType: string;
  targetId: string | null;
  changes: Record<string, unknown>;
  subjects: readonly string[];
  /** The server's id of the request that made the change. */
  requestId: string | null;
  /** The caller's own `x-request-id` for that request, if it sent one (`auditRow` always sets it). */
  clientRequestId?: string | null;
}

export interface AuditRecord extends AuditRow {
  occurredAt: Date;
  clientRequestId: string | null;
}

export interface AuditQuery {
  tenantIds?: readonly string[];
  actorId?: string;
  targetId?: string;
  targetType?: string;
  operation?: string;
  occurredAfter?: Date;
  occurredBefore?: Date;
  /** Newest first: records with ids below this one. */
  beforeId?: string;
  limit: number;
}

/** All entries of one transaction in one statement. */
export async function insertAuditRows(db: Db, rows: readonly AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('audit_log')
    .values(
      rows.map((r) => ({
        id: r.id,
        tenant_id: r.tenantId,
        actor_kind: r.actorKind,
        actor_id: r.actorId,
        operation: r.operation,
        target_type: r.targetType,
        target_id: r.targetId,
        changes: JSON.stringify(r.changes),
        subjects: sql`${[...r.subjects]}::text[]`,
        request_id: r.requestId,
        client_request_id: r.clientRequestId ?? null,
      }) as never),
    )
    .execute();
}

/** Newest first, keyset on the (time-ordered) id. */
export async function listAuditRecords(db: Db, q: AuditQuery): Promise<AuditRecord[]> {
  let query = db.selectFrom('audit_log').selectAll();
  if (q.tenantIds) query = query.where('tenant_id', 'in', q.tenantIds.length ? [...q.tenantIds] : ['00000000-0000-0000-0000-000000000000']);
  if (q.actorId !== undefined) query = query.where('actor_id', '=', q.actorId);
  if (q.targetId !== undefined) query = query.where('target_id', '=', q.targetId);
  if (q.targetType !== undefined) query = query.where('target_type', '=', q.targetType);
  if (q.operation !== undefined) query = query.where('operation', '=', q.operation);
  if (q.occurredAfter !== undefined) query = query.where('occurred_at', '>=', q.occurredAfter);
  if (q.occurredBefore !== undefined) query = query.where('occurred_at', '<', q.occurredBefore);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    occurredAt: r.occurred_at,
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    operation: r.operation,
    targetType: r.target_type,
    targetId: r.target_id,
    changes: r.changes,
    subjects: r.subjects,
    requestId: r.request_id,
    clientRequestId: r.client_request_id ?? null,
  }));
}

/**
 * Erasure: every record that concerns the user names a pseudonym instead, and the values recorded about the
 * user itself (e-mail, names, phone, custom data...) are replaced by "[erased]", keeping only which fields
 * changed. One statement, found through the GIN index on `subjects`.
 */
export async function pseudonymizeSubject(db: Db, userId: string, pseudonym: string): Promise<number> {
  const result = await executeCached(sql`
    update audit_log set
      actor_id = case when actor_id = ${userId} then ${pseudonym} else actor_id end,
      target_id = case when target_id = ${userId} then ${pseudonym} else target_id end,
      subjects = array_replace(subjects, ${userId}::text, ${pseudonym}::text),
      changes = case
        when target_type = 'user' and target_id = ${userId}
          then coalesce((select jsonb_object_agg(key, '"[erased]"'::jsonb) from jsonb_each(changes)), '{}'::jsonb)
        else replace(changes::text, ${userId}, ${pseudonym})::jsonb
      end
    where subjects @> array[${userId}::text]`, db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * The `insert into audit_log` of a statement whose data-modifying CTE `changed` (a `user_id` column) changed a
 * group's members: one record if it changed any row, none otherwise. The record's `changes` gain
 * `{ userIds: [...] }` and the changed users join its subjects. Being part of the statement that makes the change,
 * change and record are atomic without a transaction of their own. `tenant`: the record's tenant, when the
 * statement itself reads it.
 */
export function insertAuditOfChangedUsers(row: AuditRow, changed: string, tenant: RawBuilder<unknown> = sql`${row.tenantId}::uuid`) {
  const subjects = array(row.subjects, 'text');
  return sql`
    insert into audit_log (id, tenant_id, actor_kind, actor_id, operation, target_type, target_id, changes, subjects, request_id, client_request_id)
    select ${row.id}::uuid, ${tenant}, ${row.actorKind}::text, ${row.actorId}::text, ${row.operation}::text,
      ${row.targetType}::text, ${row.targetId}::text,
      ${JSON.stringify(row.changes)}::jsonb || jsonb_build_object('userIds', jsonb_agg(c.user_id)),
      ${subjects} || coalesce(array_agg(c.user_id::text) filter (where c.user_id::text <> all(${subjects})), '{}'),
      ${row.requestId}::text, ${row.clientRequestId ?? null}::text
    from ${sql.table(changed)} c
    having count(*) > 0`;
}
