import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { AuthService } from './auth.ts';
import { makeServiceDeps } from './deps.ts';
import { GroupService } from './groups.ts';
import { MembershipService } from './memberships.ts';
import { RoleService } from './roles.ts';
import { TenantService } from './tenants.ts';
import { UserService } from './users.ts';

export interface Services {
  readonly auth: AuthService;
  readonly tenants: TenantService;
  readonly users: UserService;
  readonly groups: GroupService;
  readonly memberships: MembershipService;
  readonly roles: RoleService;
}

/** Explicit construction: repositories are plain functions over the executor, services are built once here. */
export function buildServices(db: Db, config: Config): Services {
  const deps = makeServiceDeps(db, config);
  const auth = new AuthService(deps);
  const tenants = new TenantService(deps);
  const users = new UserService(deps, tenants);
  const groups = new GroupService(deps, tenants, users);
  const memberships = new MembershipService(deps, groups);
  const roles = new RoleService(deps, tenants, users);
  return { auth, tenants, users, groups, memberships, roles };
}
