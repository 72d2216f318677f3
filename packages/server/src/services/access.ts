import { run } from '../db/transaction.ts';
import type { EffectivePermission, RequestContext } from '../domain/types.ts';
import * as rolesRepo from '../repositories/roles.ts';
import type { ServiceDeps } from './deps.ts';

export const PERMISSIONS = [
  { name: 'PLATFORM_MANAGEMENT', description: 'Operate the Roster installation' },
  { name: 'COMPANY_MANAGEMENT', description: "Change the company's settings" },
  { name: 'USER_MANAGEMENT', description: 'Read and change users' },
  { name: 'USER_PROFILE', description: "Read and change users' profiles" },
  { name: 'ACCESS_MANAGEMENT', description: 'Read and change user groups, their members and their roles' },
  { name: 'REPORT_MANAGEMENT', description: 'Read reports' },
] as const;
export const ACTIONS = ['ALL', 'CREATE', 'READ', 'WRITE', 'DELETE', 'PURGE'] as const;
export type PermissionName = (typeof PERMISSIONS)[number]['name'];
export type ActionName = (typeof ACTIONS)[number];

/**
 * Whether permissions `held` (one entry per permission, as `effective` returns them) allow `action` on
 * `permission`. `ALL` implies every action, `WRITE` implies `READ`; holding every concrete action is holding `ALL`.
 * The one reading of actions, for checking a request (AccessService.allows) and for checking a delegation
 * (delegation.ts) alike.
 */
export function holds(held: readonly { permission: string; actions: readonly string[] }[], permission: string, action: string): boolean {
  const actions = held.find((p) => p.permission === permission)?.actions;
  if (!actions) return false;
  if (actions.includes('ALL') || actions.includes(action)) return true;
  if (action === 'READ') return actions.includes('WRITE');
  if (action === 'ALL') return ACTIONS.every((a) => a === 'ALL' || holds(held, permission, a));
  return false;
}

/**
 * A user's effective permissions: the union over the roles held directly and through every group, additively,
 * each with the assignments it comes from, so "why may this person do this?" has an answer.
 */
export class AccessService {
  constructor(private readonly deps: ServiceDeps) {}

  async effective(tenantId: string, userId: string): Promise<EffectivePermission[]> {
    return foldGrants(await run(() => rolesRepo.userGrants(this.deps.db, tenantId, userId)));
  }

  /** `effective` for many users in one statement, by user id. */
  async effectiveOfUsers(users: readonly { tenantId: string; id: string }[]): Promise<Map<string, EffectivePermission[]>> {
    const grants = await run(() => rolesRepo.grantsOfUsers(this.deps.db, users.map((u) => ({ tenantId: u.tenantId, userId: u.id }))));
    return new Map(users.map((u) => [u.id, foldGrants(grants.get(u.id) ?? [])]));
  }

  /** Whether the caller may perform `action` on `permission` in `tenantId` (the super-admin always may). */
  async allows(ctx: RequestContext, tenantId: string, permission: string, action: 'READ' | 'WRITE' | 'CREATE' | 'DELETE'): Promise<boolean> {
    if (ctx.actor.kind === 'superAdmin') return true;
    if (ctx.actor.tenantId !== tenantId) return false;
    return holds(await this.effective(tenantId, ctx.actor.userId), permission, action);
  }
}

/** Grants folded into one entry per permission: the union of actions, with every source kept. */
function foldGrants(grants: readonly rolesRepo.GrantRow[]): EffectivePermission[] {
  const byPermission = new Map<string, EffectivePermission>();
  for (const grant of grants) {
    for (const p of grant.permissions) {
      let entry = byPermission.get(p.permission);
      if (!entry) byPermission.set(p.permission, (entry = { permission: p.permission, actions: [], sources: [] }));
      for (const action of p.actions) if (!entry.actions.includes(action)) entry.actions.push(action);
      entry.sources.push({ roleId: grant.roleId, roleName: grant.roleName, via: grant.via, groupId: grant.groupId, groupName: grant.groupName, actions: p.actions });
    }
  }
  return [...byPermission.values()].sort((a, b) => a.permission.localeCompare(b.permission));
}
