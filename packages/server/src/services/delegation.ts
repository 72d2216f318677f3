import { AppError } from '../errors.ts';
import { run } from '../db/transaction.ts';
import * as rolesRepo from '../repositories/roles.ts';
import type { PermissionGrant, RequestContext, UserGroup } from '../domain/types.ts';
import { ACTIONS, holds, type AccessService } from './access.ts';
import type { ServiceDeps } from './deps.ts';
import type { KnownFacts, Relation } from './policy.ts';
import { COMPANY_ADMINS_REFERENCE } from './tenants.ts';

/**
 * No escalation through delegation. Nobody may hand out more than they hold:
 *
 * - **Creating a role** (or, were it offered, changing one): the caller must hold every permission and action the
 *   role would carry.
 * - **Assigning a role** to a user or to a group: the caller must hold every permission and action of that role.
 * - **Adding anyone (oneself included) to a group**: the caller must hold every permission and action of every role
 *   the group carries, since membership hands them out. This binds a group's managers as well: a manager may add
 *   people only to a group that grants nothing beyond what the manager holds.
 * - **Platform groups** ("Company Admins"): who belongs to them (added or removed) is changed only by a company
 *   admin, a member of the company's "Company Admins" group (see tenants.ts), or by the super-admin.
 *
 * "Holding" is the caller's effective permissions in the company (services/access.ts): the union over its direct
 * roles and its groups' roles; `ALL` covers every action and `WRITE` covers `READ`. The super-admin is
 * unrestricted. Removing members and unassigning roles hand nothing out and are not restricted here (except for
 * platform groups). Refusals are FORBIDDEN, naming what the caller lacks.
 */

/** The roles a grant would hand out, each with what it carries. */
export interface GrantedRole {
  readonly name: string;
  readonly permissions: readonly PermissionGrant[];
}

/** Everything the membership decisions need about the caller and one group, read together. */
export interface GroupFacts extends KnownFacts {
  /** The caller is a member of its company's "Company Admins" group. */
  readonly companyAdmin: boolean;
  /** The roles the group gives its members. */
  readonly grants: readonly GrantedRole[];
}

/** Permissions as held: everything for the super-admin, else the union of the caller's roles in the company. */
export type Held = 'everything' | KnownFacts['held'];

export class Delegation {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {}

  /** What the caller holds in `tenantId` (read before a transaction that then checks grants against it). */
  async held(ctx: RequestContext, tenantId: string): Promise<Held> {
    if (ctx.actor.kind === 'superAdmin') return 'everything';
    // A user token acts in its own company only; elsewhere it holds nothing.
    if (ctx.actor.tenantId !== tenantId) return [];
    return this.access.effective(tenantId, ctx.actor.userId);
  }

  /**
   * The caller's effective permissions, whether it manages or belongs to `group`, whether it is a company admin,
   * and the roles the group gives: one statement, whatever the number of users a membership call names.
   */
  async groupFacts(actor: { userId: string; tenantId: string }, group: UserGroup): Promise<GroupFacts> {
    const t = group.tenantId;
    const u = actor.userId;
    const g = group.id;
    const row = await run(() => rolesRepo.grantFacts(this.deps.db, { tenantId: t, userId: u, groupId: g, companyAdminsReference: COMPANY_ADMINS_REFERENCE }));
    const relations = new Set<Relation>();
    if (row.manager) relations.add('manager');
    if (row.member) relations.add('member');
    // Outside its own company a token holds nothing (callers have already answered NOT_FOUND there).
    const own = actor.tenantId === t;
    return { held: own ? union(row.held) : [], relations: own ? relations : new Set(), companyAdmin: own && row.company_admin, grants: row.grants };
  }
}

/**
 * Throws FORBIDDEN unless the caller may make this membership change of `group`: adding needs every permission
 * the group's roles carry; any change to a platform group's members needs a company admin.
 */
export function requireMayChangeMembers(ctx: RequestContext, group: UserGroup, facts: GroupFacts, change: { adding: boolean; removing: boolean }): void {
  if (ctx.actor.kind === 'superAdmin') return;
  if (group.isUnmodifiable && (change.adding || change.removing) && !facts.companyAdmin) {
    throw new AppError('FORBIDDEN', `Changing the members of the platform group "${group.name}" needs a company admin (a member of "Company Admins") or the super-admin`);
  }
  if (change.adding) requireGrantable(facts.held, facts.grants, `Adding members to group "${group.name}"`, 'granted by its role');
}

/**
 * Throws FORBIDDEN unless `held` covers every permission and action of every role; `doing` names the action
 * ("Granting role \"X\"", "Creating role \"X\"").
 */
export function requireGrantable(held: Held, roles: readonly GrantedRole[], doing: string, via?: string): void {
  if (held === 'everything') return;
  const missing: { need: string; role: string }[] = [];
  for (const role of roles) {
    for (const grant of role.permissions) {
      for (const action of grant.actions) {
        const need = `${grant.permission}: ${action}`;
        if (!holds(held, grant.permission, action) && !missing.some((m) => m.need === need)) missing.push({ need, role: role.name });
      }
    }
  }
  if (missing.length === 0) return;
  const needs = missing.map((m) => (via ? `${m.need} (${via} "${m.role}")` : m.need)).join(', ');
  throw new AppError('FORBIDDEN', `${doing} needs ${needs}, which you do not hold`, { missing: missing.map((m) => m.need) });
}

/** One entry per permission with the union of its actions. */
function union(grants: readonly PermissionGrant[]): PermissionGrant[] {
  const out = new Map<string, Set<string>>();
  for (const g of grants) {
    let actions = out.get(g.permission);
    if (!actions) out.set(g.permission, (actions = new Set()));
    for (const a of g.actions) if ((ACTIONS as readonly string[]).includes(a)) actions.add(a);
  }
  return [...out].map(([permission, actions]) => ({ permission, actions: [...actions] }));
}
