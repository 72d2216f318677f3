import { Errors } from '../errors.ts';
import { run } from '../db/transaction.ts';
import type { Actor, RequestContext } from '../domain/types.ts';
import * as groupsRepo from '../repositories/groups.ts';
import * as memberships from '../repositories/memberships.ts';
import { holds, type AccessService, type PermissionName } from './access.ts';
import type { ServiceDeps } from './deps.ts';

/** Authorization rules shared by every transport. The super-admin key may do everything. */

export const isSuperAdmin = (actor: Actor): actor is { kind: 'superAdmin' } => actor.kind === 'superAdmin';

export function requireSuperAdmin(ctx: RequestContext, what: string): void {
  if (!isSuperAdmin(ctx.actor)) throw Errors.forbidden(`Only the super-admin may ${what}`);
}

/** The tenant a user token is bound to, or undefined for the super-admin (who sees every tenant). */
export const actorTenant = (ctx: RequestContext): string | undefined =>
  ctx.actor.kind === 'user' ? ctx.actor.tenantId : undefined;

/** A record of another tenant is reported as missing, never as forbidden: its existence is not to leak. */
export function visibleToActor(ctx: RequestContext, tenantId: string): boolean {
  return ctx.actor.kind === 'superAdmin' || ctx.actor.tenantId === tenantId;
}

// ---------------------------------------------------------------------------------------------------------------
// Named actions: one rule per action, whatever the transport (GraphQL root field, nested field, count, REST
// route) asks for it. A service checks the action, never the transport.

/**
 * How the caller relates to the resource, which allows some actions without the permission: `self` (the
 * resource is the caller's own user), `member` or `manager` (of the group).
 */
export type Relation = 'self' | 'member' | 'manager';

export interface Rule {
  /** The action as the refusal names it: "Listing a group's people". */
  readonly what: string;
  /** The permission, in the resource's company, that allows the action. None: the super-admin only. */
  readonly needs?: { readonly permission: PermissionName; readonly action: 'READ' | 'WRITE' };
  /** Relations that allow the action too (the caller must hold one of them to every resource named). */
  readonly or?: readonly Relation[];
}

const AM_READ = { permission: 'ACCESS_MANAGEMENT', action: 'READ' } as const;
const AM_WRITE = { permission: 'ACCESS_MANAGEMENT', action: 'WRITE' } as const;

export const RULES = {
  // Users. Reading another user's record and listing or counting users (top-level `users`, `tenant { users }`)
  // is the super-admin's; a user token reads its own record (services/users.ts).
  'users.list': { what: "Listing or counting a company's users" },
  'user.groups.read': { what: "Reading another user's groups", needs: AM_READ, or: ['self'] },
  'user.roles.read': { what: "Reading another user's roles", needs: AM_READ, or: ['self'] },
  'user.permissions.read': { what: "Reading another user's permissions", needs: AM_READ, or: ['self'] },
  'user.tokens.revoke': { what: "Revoking a user's tokens", needs: { permission: 'USER_MANAGEMENT', action: 'WRITE' } },
  // Reports.
  'audit.read': { what: 'Reading the audit log', needs: { permission: 'REPORT_MANAGEMENT', action: 'READ' } },
  // Groups.
  'company.groups.list': { what: "Listing a company's groups", needs: AM_READ },
  'group.read': { what: 'Reading this group', needs: AM_READ, or: ['member', 'manager'] },
  'group.roles.read': { what: "Reading a group's roles", needs: AM_READ, or: ['member', 'manager'] },
  'group.people.read': { what: "Listing a group's people", needs: AM_READ, or: ['manager'] },
  'group.create': { what: 'Creating user groups', needs: AM_WRITE },
  'group.update': { what: 'Changing user groups', needs: AM_WRITE },
  'group.delete': { what: 'Deleting user groups', needs: AM_WRITE },
  'group.participants.change': { what: "Changing a group's participants", needs: AM_WRITE, or: ['manager'] },
  'group.managers.change': { what: "Changing a group's managers" },
  'group.roles.change': { what: "Changing a group's roles", needs: AM_WRITE },
  // Roles.
  'company.roles.list': { what: "Listing a company's roles", needs: AM_READ },
  'role.create': { what: 'Creating roles', needs: AM_WRITE },
  'role.groups.read': { what: "Reading a role's groups", needs: AM_READ },
  'role.holders.count': { what: "Counting a role's holders", needs: AM_READ },
} as const satisfies Record<string, Rule>;

export type PolicyAction = keyof typeof RULES;

const RELATION_TEXT: Record<Exclude<Relation, 'self'>, string> = { member: 'membership', manager: 'management' };

/** The refusal of `action`: what it needs, and which relations to the group would have done instead. */
export function refusal(action: PolicyAction): Error {
  const rule: Rule = RULES[action];
  if (!rule.needs) return Errors.forbidden(`${rule.what}: only the super-admin may do this`);
  const needs = `${rule.needs.permission}: ${rule.needs.action}`;
  // `self` needs no mention: the action's name says it is about someone else ("another user's ...").
  const relations = (rule.or ?? []).filter((r) => r !== 'self').map((r) => RELATION_TEXT[r as Exclude<Relation, 'self'>]);
  return Errors.forbidden(relations.length ? `${rule.what} needs ${needs}, or ${relations.join(' or ')} of the group` : `${rule.what} needs ${needs}`);
}

/** An action allowed to the super-admin only; no lookup needed. */
export function requireSuperAdminAction(ctx: RequestContext, action: PolicyAction): void {
  const rule: Rule = RULES[action];
  if (rule.needs || rule.or) throw new Error(`${action} is not a super-admin-only action`);
  if (!isSuperAdmin(ctx.actor)) throw refusal(action);
}

/** What a decision is about: resources of one company, the users or groups the relations are checked against. */
export interface Target {
  /** The resources' company. Undefined: the caller's own (resources a parent field already returned to it). */
  readonly tenantId?: string | undefined;
  readonly userIds?: readonly string[];
  readonly groupIds?: readonly string[];
}

/**
 * Facts about the caller already gathered (by a statement that read them together with other things), so a
 * decision needs no further lookup.
 */
export interface KnownFacts {
  readonly held: readonly { permission: string; actions: readonly string[] }[];
  readonly relations: ReadonlySet<Relation>;
}

/**
 * Decides named actions for a request: relations first (cheap, and the usual way a token is allowed), then the
 * caller's effective permissions in the resource's company. A user token never acts in another company.
 */
export class Policy {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly access: AccessService,
  ) {}

  async permits(ctx: RequestContext, action: PolicyAction, target: Target = {}): Promise<boolean> {
    const { actor } = ctx;
    if (actor.kind === 'superAdmin') return true;
    const tenantId = target.tenantId ?? actor.tenantId;
    if (tenantId !== actor.tenantId) return false;
    const rule: Rule = RULES[action];
    if (rule.or && (await this.related(actor, tenantId, rule.or, target))) return true;
    return !!rule.needs && (await this.access.allows(ctx, tenantId, rule.needs.permission, rule.needs.action));
  }

  /** Throws FORBIDDEN, naming what is needed, unless the caller may do `action` on `target`. */
  async require(ctx: RequestContext, action: PolicyAction, target: Target = {}): Promise<void> {
    if (!(await this.permits(ctx, action, target))) throw refusal(action);
  }

  /** `require`, deciding from facts already gathered. */
  static requireKnown(ctx: RequestContext, action: PolicyAction, facts: KnownFacts): void {
    if (ctx.actor.kind === 'superAdmin') return;
    const rule: Rule = RULES[action];
    if (rule.or?.some((r) => facts.relations.has(r))) return;
    if (rule.needs && holds(facts.held, rule.needs.permission, rule.needs.action)) return;
    throw refusal(action);
  }

  /** Whether the caller holds one of `relations` to every user or group of the target (none named: no). */
  private async related(actor: { userId: string }, tenantId: string, relations: readonly Relation[], target: Target): Promise<boolean> {
    const userIds = new Set(target.userIds ?? []);
    if (relations.includes('self') && userIds.size > 0 && [...userIds].every((id) => id === actor.userId)) return true;
    const groupIds = [...new Set(target.groupIds ?? [])];
    if (groupIds.length === 0) return false;
    const member = relations.includes('member');
    const manager = relations.includes('manager');
    if (manager && !member) return (await run(() => memberships.managedAmong(this.deps.db, tenantId, groupIds, actor.userId))).length === groupIds.length;
    if (!member) return false;
    // Groups among these the caller belongs to (or, with `manager`, manages too): one statement for any number.
    const related = await run(() =>
      groupsRepo.countUserGroups(this.deps.db, {
        filter: { id: { valueIn: groupIds }, tenantId: { equalTo: tenantId }, ...(manager ? {} : { userId: { equalTo: actor.userId } }) },
        visibleTo: manager ? actor.userId : undefined,
      }),
    );
    return related === groupIds.length;
  }
}
