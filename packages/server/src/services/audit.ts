import { Errors } from '../errors.ts';
import { inTransaction, run, type TransactionOptions, type Tx } from '../db/transaction.ts';
import type { RequestContext } from '../domain/types.ts';
import * as repo from '../repositories/audit.ts';
import type { AuditRecord, AuditRow } from '../repositories/audit.ts';
import type { AccessService } from './access.ts';
import { Policy } from './policy.ts';
import type { ServiceDeps } from './deps.ts';
import type { TenantService } from './tenants.ts';
import * as v from './validate.ts';

export type AuditTargetType = 'user' | 'userGroup' | 'tenant' | 'role' | 'apiKey' | 'signingKey';

/** One change, as a service describes it; who, when and which request are added from the context. */
export interface AuditEntry {
  readonly tenantId: string | null;
  readonly operation: string;
  readonly targetType: AuditTargetType;
  readonly targetId: string | null;
  /** Changed fields and their new values (for updates `{ from, to }`); never a secret. */
  readonly changes?: Record<string, unknown>;
  /** Further users the entry concerns (members added or removed), so erasing one of them finds it. */
  readonly users?: readonly string[];
}

export type Audit = (entry: AuditEntry) => void;

/** How the audit log names the caller: the API key's id, the service account, or the user. */
export function auditActor(ctx: RequestContext): { kind: string; id: string | null } {
  if (ctx.actor.kind === 'user') return { kind: 'user', id: ctx.actor.userId };
  if (ctx.actor.keyId === 'system') return { kind: 'system', id: null };
  return { kind: 'apiKey', id: ctx.actor.keyId ?? null };
}

/**
 * Runs a write in one transaction and records what it did in the audit log inside that same transaction:
 * the change and its record commit together or not at all. A retried attempt starts with an empty record.
 */
export function writeAudited<T>(
  deps: ServiceDeps,
  ctx: RequestContext,
  work: (tx: Tx, audit: Audit) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const actor = auditActor(ctx);
  return inTransaction(deps.db, async (tx) => {
    const entries: AuditEntry[] = [];
    const result = await work(tx, (entry) => void entries.push(entry));
    await repo.insertAuditRows(tx, entries.map((e) => auditRow(deps, ctx, e, actor)));
    return result;
  }, options);
}

/** The audit record of one entry: the entry, plus who made the change, a fresh id and the request's ids (the server's and the caller's). */
export function auditRow(deps: ServiceDeps, ctx: RequestContext, e: AuditEntry, actor = auditActor(ctx)): AuditRow {
  return {
    id: deps.newId(),
    tenantId: e.tenantId,
    actorKind: actor.kind,
    actorId: actor.id,
    operation: e.operation,
    targetType: e.targetType,
    targetId: e.targetId,
    changes: e.changes ?? {},
    subjects: unique([...(actor.kind === 'user' && actor.id ? [actor.id] : []), ...(e.targetType === 'user' && e.targetId ? [e.targetId] : []), ...(e.users ?? [])]),
    requestId: ctx.requestId,
    clientRequestId: ctx.clientRequestId ?? null,
  };
}

/** `{ field: { from, to } }` for the fields whose value differs; secrets never reach here. */
export function diff<T extends object>(before: T, after: T, fields: readonly (keyof T & string)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const a = before[f];
    const b = after[f];
    if (JSON.stringify(a) !== JSON.stringify(b)) out[f] = { from: a ?? null, to: b ?? null };
  }
  return out;
}

export interface AuditListArgs {
  tenantId?: string | null;
  actorId?: string | null;
  targetId?: string | null;
  targetType?: string | null;
  operation?: string | null;
  occurredAfter?: Date | null;
  occurredBefore?: Date | null;
  first?: number | null;
  after?: string | null;
}

export interface AuditPage {
  data: AuditRecord[];
  endCursor: string | null;
  hasNextPage: boolean;
}

/** Reading the audit log: the super-admin reads all of it; a user token reads its company's with REPORT_MANAGEMENT: READ. */
export class AuditService {
  private readonly policy: Policy;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly tenants: TenantService,
    access: AccessService,
  ) {
    this.policy = new Policy(deps, access);
  }

  async list(ctx: RequestContext, args: AuditListArgs): Promise<AuditPage> {
    const { listDefault, listMax } = this.deps.config.limits;
    const first = args.first ?? listDefault;
    if (!Number.isInteger(first) || first < 1 || first > listMax) throw Errors.invalid('first', `must be between 1 and ${listMax}`);
    let tenantIds: string[] | undefined;
    if (args.tenantId != null) tenantIds = [(await this.tenants.get(ctx, args.tenantId)).id];
    if (ctx.actor.kind === 'user') {
      tenantIds = [ctx.actor.tenantId];
      await this.policy.require(ctx, 'audit.read', { tenantId: ctx.actor.tenantId });
    }
    const text = (field: string, value: string | null | undefined) => (value == null ? undefined : v.text(field, value, { min: 1, max: 255 }));
    const after = args.after == null ? undefined : decodeCursor(args.after);
    const rows = await run(() =>
      repo.listAuditRecords(this.deps.db, {
        tenantIds,
        actorId: text('actorId', args.actorId),
        targetId: text('targetId', args.targetId),
        targetType: text('targetType', args.targetType),
        operation: text('operation', args.operation),
        occurredAfter: args.occurredAfter ?? undefined,
        occurredBefore: args.occurredBefore ?? undefined,
        beforeId: after,
        limit: first + 1,
      }),
    );
    const data = rows.slice(0, first);
    const last = data.at(-1);
    return { data, hasNextPage: rows.length > first, endCursor: last ? Buffer.from(last.id, 'utf8').toString('base64url') : null };
  }
}

function decodeCursor(raw: string): string {
  const id = Buffer.from(raw, 'base64url').toString('utf8');
  if (!v.isUuid(id)) throw Errors.invalid('after', 'is not a cursor returned by this API');
  return id;
}

const unique = (values: readonly string[]): string[] => [...new Set(values)];
