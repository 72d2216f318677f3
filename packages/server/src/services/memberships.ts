import { AppError, Errors } from '../errors.ts';
import { retrying, run } from '../db/transaction.ts';
import { FOREIGN_KEY_VIOLATION } from '../db/errors.ts';
import type { RequestContext, UserGroup } from '../domain/types.ts';
import * as memberships from '../repositories/memberships.ts';
import * as usersRepo from '../repositories/users.ts';
import type { GroupRelation, UserKey } from '../repositories/users.ts';
import type { ServiceDeps } from './deps.ts';
import type { GroupSelector, GroupService } from './groups.ts';
import type { AccessService } from './access.ts';
import { Delegation, requireMayChangeMembers } from './delegation.ts';
import { Policy, refusal } from './policy.ts';
import * as v from './validate.ts';
import { auditRow, writeAudited } from './audit.ts';

/** Users named by id and/or by reference (references are looked up in the group's tenant). */
export interface UserSelector {
  ids?: readonly string[] | null;
  refs?: readonly string[] | null;
}

export type FailureCode = 'NOT_FOUND' | 'OTHER_TENANT';

export interface MembershipFailure {
  /** The input exactly as the caller gave it (an id or a ref). */
  readonly input: string;
  readonly code: FailureCode;
  readonly message: string;
}

export interface MembershipOutcome {
  readonly group: UserGroup;
  /** Users whose state changed. */
  readonly changedIds: string[];
  /** Users already in the desired state. */
  readonly unchangedIds: string[];
  readonly failures: MembershipFailure[];
}

export type MembershipChange = 'add' | 'remove';

/**
 * Every way to change who belongs to or manages a group ends here: ROQ `addUsersToUserGroup`, Pluvo
 * `addUsersToGroup`/`addManagersToGroup`, and later REST and SCIM. One transaction, a handful of set-based
 * statements whatever the number of users.
 */
export class MembershipService {
  private readonly delegation: Delegation;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly groups: GroupService,
    access: AccessService,
  ) {
    this.delegation = new Delegation(deps, access);
  }

  /**
   * `atomic`: any unknown or other-tenant user rejects the whole call and writes nothing (the ROQ dialect).
   * Otherwise the valid users are changed and the others are reported as failures (the Pluvo dialect).
   */
  async change(
    ctx: RequestContext,
    args: { relation: GroupRelation; change: MembershipChange; group: GroupSelector; users: UserSelector; atomic: boolean },
  ): Promise<MembershipOutcome> {
    // Normalised ids, and the first input (as given) for each, which failures report.
    const given = new Map<string, string>();
    const ids = (args.users.ids ?? []).map((input) => {
      const id = v.uuid('userIds', input);
      if (!given.has(id)) given.set(id, input);
      return id;
    });
    const refs = (args.users.refs ?? []).map((ref) => v.text('userRefs', ref, { min: 1, max: this.deps.config.limits.stringLength }));
    v.list('userIds', [...ids, ...refs], this.deps.config.limits.batchMax);
    // The super-admin may change any group it finds, so a group named by id alone is read by the statement that
    // makes the change: one round trip for the usual call instead of two.
    const readByStatement = ctx.actor.kind === 'superAdmin' && args.group.ref == null && args.group.id != null && refs.length === 0;
    let group: UserGroup | undefined;
    let groupId: string;
    if (readByStatement) {
      groupId = v.uuid(args.group.idField ?? 'groupId', args.group.id!);
      if (args.group.tenantId != null) v.uuid('tenantId', args.group.tenantId);
    } else {
      group = await this.groups.select(ctx, args.group);
      await this.authorize(ctx, group, args.relation, { adding: args.change === 'add', removing: args.change === 'remove' });
      groupId = group.id;
    }

    const uniqueIds = v.unique(ids);
    const uniqueRefs = v.unique(refs);
    const { db } = this.deps;
    for (let attempt = 1; ; attempt++) {
      // References name users of the group's tenant, so a call with references has read its group first.
      const byRef = new Map((uniqueRefs.length > 0 ? await run(() => usersRepo.findUserKeys(db, { tenantId: group!.tenantId, refs: uniqueRefs })) : []).map((u) => [u.reference, u]));
      const failures: MembershipFailure[] = [];
      const fromRefs: string[] = [];
      for (const ref of uniqueRefs) {
        const user = byRef.get(ref);
        if (user) fromRefs.push(user.id);
        else failures.push({ input: ref, code: 'NOT_FOUND', message: `No user with reference ${JSON.stringify(ref)} in the group's tenant` });
      }
      if (args.atomic && failures.length > 0) throw Errors.notFound('User', 'userRefs', failures[0]!.input);
      // The change comes first and touches only users of the group's tenant. An id it changed is therefore
      // valid; only the others are looked up, to tell "already so" from an unknown or other-tenant user. For the
      // usual call (new members in, current members out) that lookup never runs.
      const candidates = v.unique([...uniqueIds, ...fromRefs]);
      const audit = auditRow(this.deps, ctx, { tenantId: group?.tenantId ?? null, operation: `userGroup.${args.relation}.${args.change}`, targetType: 'userGroup', targetId: groupId });
      const change = { relation: args.relation, change: args.change, groupId, userIds: candidates, requireAll: args.atomic, audit };
      let changed: string[];
      let heldBack: boolean;
      if (group) {
        const known = group;
        ({ changed, heldBack } = await retrying(() => memberships.changeAudited(db, { ...change, tenantId: known.tenantId }), RETRY_ON_DELETED_USER));
      } else {
        const outcome = await retrying(() => memberships.changeAuditedInGroup(db, { ...change, tenantId: args.group.tenantId ?? undefined }), RETRY_ON_DELETED_USER);
        if (!outcome) throw Errors.notFound('UserGroup', args.group.idField ?? 'groupId', args.group.id!);
        ({ group, changed, heldBack } = outcome);
      }
      const changedSet = new Set(changed);
      const unexplained = uniqueIds.filter((id) => !changedSet.has(id));
      const byId = new Map((await run(() => usersRepo.findUserKeys(db, { ids: unexplained }))).map((u) => [u.id, u]));
      const failed = new Set<string>();
      for (const id of unexplained) {
        const failure = checkUser(byId.get(id), group, given.get(id) ?? id);
        if (!failure) continue;
        failed.add(id);
        // A user token must not learn that an id exists in another tenant.
        failures.push(ctx.actor.kind === 'user' ? { ...failure, code: 'NOT_FOUND', message: `No user with id ${failure.input}` } : failure);
      }
      // All or nothing: the statement changed nothing unless every candidate was a user of the tenant.
      if (args.atomic && failures.length > 0) throw Errors.notFound('User', 'userIds', failures[0]!.input);
      // A user that was missing when the statement ran but exists now (created, or a reference moved, in between):
      // nothing was written, so the change is simply made again.
      if (heldBack) {
        if (attempt < MAX_ATTEMPTS) continue;
        throw new AppError('CONFLICT', 'userIds: the users changed while the call ran; send it again', { field: 'userIds' });
      }
      const targets = v.unique([...uniqueIds.filter((id) => !failed.has(id)), ...fromRefs]);
      return {
        group,
        changedIds: targets.filter((id) => changedSet.has(id)),
        unchangedIds: targets.filter((id) => !changedSet.has(id)),
        failures,
      };
    }
  }

  /**
   * Adds and removes participants in one transaction, all or nothing (REST `PATCH .../members`): an unknown
   * user, a user of another tenant, or an id in both lists rejects the whole call as invalid input.
   */
  async applyParticipants(
    ctx: RequestContext,
    args: { group: GroupSelector; add: readonly string[]; remove: readonly string[]; addField: string; removeField: string },
  ): Promise<{ added: string[]; removed: string[] }> {
    const add = v.unique(args.add.map((id) => v.uuid(args.addField, id)));
    const remove = v.unique(args.remove.map((id) => v.uuid(args.removeField, id)));
    v.list(args.addField, add, this.deps.config.limits.batchMax);
    v.list(args.removeField, remove, this.deps.config.limits.batchMax);
    const removeSet = new Set(remove);
    const both = add.find((id) => removeSet.has(id));
    if (both) throw Errors.invalid(args.removeField, `user ${both} is in both ${args.addField} and ${args.removeField}`, { value: both });
    const group = await this.groups.select(ctx, args.group);
    await this.authorize(ctx, group, 'members', { adding: add.length > 0, removing: remove.length > 0 });
    return writeAudited(this.deps, ctx, async (tx, audit) => {
      const known = new Map((await usersRepo.findUserKeys(tx, { ids: [...add, ...remove] })).map((u) => [u.id, u]));
      for (const [field, ids] of [[args.addField, add], [args.removeField, remove]] as const) {
        const bad = ids.find((id) => known.get(id)?.tenantId !== group.tenantId);
        // Unknown and other-tenant users read alike: the caller learns nothing about other tenants.
        if (bad) throw Errors.invalid(field, `user ${bad} does not exist in this company`, { value: bad });
      }
      const added = await memberships.addToGroup(tx, 'members', group.tenantId, group.id, add);
      const removed = await memberships.removeFromGroup(tx, 'members', group.tenantId, group.id, remove);
      if (added.length > 0) audit({ tenantId: group.tenantId, operation: 'userGroup.members.add', targetType: 'userGroup', targetId: group.id, changes: { userIds: added }, users: added });
      if (removed.length > 0) audit({ tenantId: group.tenantId, operation: 'userGroup.members.remove', targetType: 'userGroup', targetId: group.id, changes: { userIds: removed }, users: removed });
      return { added, removed };
    }, RETRY_ON_DELETED_USER);
  }

  /**
   * Every membership change of every transport is decided here, once per call and in one statement whatever the
   * number of users: participants may be changed by the super-admin, with ACCESS_MANAGEMENT: WRITE or by a manager
   * of the group (`group.participants.change`); managers by the super-admin only. Then no escalation
   * (delegation.ts): adding needs every permission the group's roles carry, and a platform group's members are
   * changed by a company admin only.
   */
  private async authorize(ctx: RequestContext, group: UserGroup, relation: GroupRelation, change: { adding: boolean; removing: boolean }): Promise<void> {
    if (ctx.actor.kind === 'superAdmin') return;
    if (relation === 'managers') throw refusal('group.managers.change');
    const facts = await this.delegation.groupFacts(ctx.actor, group);
    Policy.requireKnown(ctx, 'group.participants.change', facts);
    requireMayChangeMembers(ctx, group, facts, change);
  }
}

const RETRY_ON_DELETED_USER = { retryOn: [FOREIGN_KEY_VIOLATION] };
const MAX_ATTEMPTS = 3;

function checkUser(user: UserKey | undefined, group: UserGroup, input: string): MembershipFailure | undefined {
  if (!user) return { input, code: 'NOT_FOUND', message: `No user with id ${input}` };
  if (user.tenantId !== group.tenantId) {
    return { input, code: 'OTHER_TENANT', message: `User ${input} belongs to another tenant than the group` };
  }
  return undefined;
}
