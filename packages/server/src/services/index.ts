import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { AccessService } from './access.ts';
import { ApiKeyService } from './api-keys.ts';
import { AuditService } from './audit.ts';
import { AuthService } from './auth.ts';
import { SigningKeyRing } from './signing-keys.ts';
import { makeServiceDeps } from './deps.ts';
import { GroupService } from './groups.ts';
import { HealthService } from './health.ts';
import { IdempotencyService } from './idempotency.ts';
import { MembershipService } from './memberships.ts';
import { RoleService } from './roles.ts';
import { TenantService } from './tenants.ts';
import { TokenRevocations } from './token-revocations.ts';
import { UserService } from './users.ts';

export interface Services {
  readonly auth: AuthService;
  readonly apiKeys: ApiKeyService;
  readonly audit: AuditService;
  readonly idempotency: IdempotencyService;
  readonly access: AccessService;
  readonly tenants: TenantService;
  readonly users: UserService;
  readonly groups: GroupService;
  readonly memberships: MembershipService;
  readonly roles: RoleService;
  readonly health: HealthService;
}

/** Explicit construction: repositories are plain functions over the executor, services are built once here. */
export function buildServices(db: Db, config: Config): Services {
  const deps = makeServiceDeps(db, config);
  const apiKeys = new ApiKeyService(deps);
  const revocations = new TokenRevocations(deps);
  const auth = new AuthService(deps, apiKeys, new SigningKeyRing(db, deps.newId), revocations);
  const access = new AccessService(deps);
  const tenants = new TenantService(deps);
  const users = new UserService(deps, tenants, access, revocations);
  const groups = new GroupService(deps, tenants, users, access);
  const memberships = new MembershipService(deps, groups, access);
  const roles = new RoleService(deps, tenants, users, groups, access);
  const audit = new AuditService(deps, tenants, access);
  return { auth, apiKeys, audit, idempotency: new IdempotencyService(deps), access, tenants, users, groups, memberships, roles, health: new HealthService(deps) };
}
