import { Errors } from '../errors.ts';
import type { Actor, RequestContext } from '../domain/types.ts';

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
