import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContext, Role, UserGroup } from '../../domain/types.ts';
import type { Services } from '../../services/index.ts';
import {
  CompanyParams,
  CreateRoleRequest,
  RoleSchema,
  GroupParams,
  GroupRolesResponse,
  ListGroupRolesRequest,
  ListGroupRolesResponse,
  ListRolesRequest,
  ListRolesResponse,
  PermissionsResponse,
  RbacInfoResponse,
  UpdateGroupRolesRequest,
  UserParams,
  errorResponses,
} from './schemas.ts';

const TAGS = ['Roles and permissions'];
const iso = (d: Date) => ({ iso8601: d.toISOString() });

export function toRestRole(r: Role) {
  return {
    id: r.id,
    name: r.name,
    description: r.description ?? '',
    isPlatformRole: r.tenantId === null,
    ...(r.tenantId ? { companyId: r.tenantId } : {}),
    permissions: r.permissions,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

interface RouteHelpers {
  ctx(request: FastifyRequest): RequestContext;
  groupOf(request: FastifyRequest, params: { companyId: string; groupId: string }): Promise<UserGroup>;
}

/** Roles of groups, the company's roles, the permission catalog and a user's effective permissions. */
export function registerRoleRoutes(rest: FastifyInstance, services: Services, { ctx, groupOf }: RouteHelpers): void {
  const groupRoles = (rows: { role: Role; scope: { audiences: { predicates: unknown[] }[] } }[]) => ({
    roles: rows.map((row) => ({ role: toRestRole(row.role), scope: row.scope })),
  });

  rest.post<{ Params: GroupParams; Body: ListGroupRolesRequest }>(
    '/v3/companies/:companyId/user-groups/:groupId/roles',
    { schema: { tags: TAGS, summary: "List a group's roles with their scopes", operationId: 'listUserGroupRoles', description: "Lists the roles assigned to the group, each with its permissions and the scope it applies to. Like every listing: optional searchText (case-insensitive substring of the name), sortParams (NAME or CREATED_AT, default NAME ASC) and pagination (default offset 0, limit 100); pagination.totalNumResults counts the matches.", params: GroupParams, body: ListGroupRolesRequest, response: { 200: ListGroupRolesResponse, ...errorResponses } } },
    async (request) => {
      const group = await groupOf(request, request.params);
      const body = request.body;
      const page = await services.roles.groupRolesPage(ctx(request), group.id, {
        searchText: body.searchText,
        sort: body.sortParams?.sortBy === 'CREATED_AT' ? 'createdAt' : 'name',
        order: body.sortParams?.sortOrder,
        limit: body.pagination?.limit,
        offset: body.pagination?.offset,
      });
      return { ...groupRoles(page.rows), pagination: { totalNumResults: page.total } };
    },
  );

  rest.patch<{ Params: GroupParams; Body: UpdateGroupRolesRequest }>(
    '/v3/companies/:companyId/user-groups/:groupId/roles',
    { schema: { tags: TAGS, summary: "Add and remove a group's roles (not of platform groups)", operationId: 'updateUserGroupRoles', description: "Assigns rolesToAdd (each with an optional scope; a repeated role takes the new scope) and removes rolesToDelete, in one transaction. Roles must be platform roles or the company's own. Platform groups refuse with 403. Returns the group's roles afterwards.", params: GroupParams, body: UpdateGroupRolesRequest, response: { 200: GroupRolesResponse, ...errorResponses } } },
    async (request) => {
      const group = await groupOf(request, request.params);
      const rows = await services.roles.changeGroupRoles(ctx(request), group.id, {
        add: request.body.rolesToAdd ?? [],
        remove: (request.body.rolesToDelete ?? []).map((r) => r.roleId),
      });
      return groupRoles(rows);
    },
  );

  rest.post<{ Params: { companyId: string }; Body: ListRolesRequest }>(
    '/v3/companies/:companyId/roles',
    { schema: { tags: TAGS, summary: "List the roles a company can assign: platform roles and its own", operationId: 'listRoles', description: "Lists platform roles and the company's own roles, with search on the name, sorting, pagination, and filters by role id or by who provides the role (PLATFORM or COMPANY).", params: CompanyParams, body: ListRolesRequest, response: { 200: ListRolesResponse, ...errorResponses } } },
    async (request) => {
      const company = await services.tenants.get(ctx(request), request.params.companyId);
      const body = request.body;
      const page = await services.roles.listForCompany(ctx(request), company.id, {
        searchText: body.searchText,
        roleIds: body.filters?.flatMap((f) => f.roleIds ?? []),
        providedBy: body.filters?.flatMap((f) => f.roleProvidedBy ?? []),
        sort: body.sortParams?.sortBy === 'CREATED_AT' ? 'createdAt' : 'name',
        order: body.sortParams?.sortOrder ?? 'ASC',
        limit: body.pagination.limit,
        offset: body.pagination.offset,
      });
      return { roles: page.data.map(toRestRole), pagination: { totalNumResults: await page.count() } };
    },
  );

  rest.post<{ Params: { companyId: string }; Body: CreateRoleRequest }>(
    '/v3/companies/:companyId/roles/create',
    { schema: { tags: TAGS, summary: 'Create a company role', operationId: 'createRole', description: "Creates a role of the company with the given permissions. Its key is derived from the name unless given; keys are unique per company. Needs ACCESS_MANAGEMENT: WRITE. (POST /v3/companies/{companyId}/roles lists roles, hence this path.)", params: CompanyParams, body: CreateRoleRequest, response: { 200: RoleSchema, ...errorResponses } } },
    async (request) => {
      const company = await services.tenants.get(ctx(request), request.params.companyId);
      const key = request.body.key ?? (request.body.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'role');
      const role = await services.roles.create(ctx(request), { ...request.body, key, tenantId: company.id });
      return toRestRole(role);
    },
  );

  rest.get(
    '/v3/permissions',
    { schema: { tags: TAGS, summary: 'The permission catalog', operationId: 'listPermissions', description: 'Lists every permission (resource) a role can grant; actions are ALL, CREATE, READ, WRITE, DELETE, PURGE.', response: { 200: PermissionsResponse, ...errorResponses } } },
    async () => ({ permissions: [...services.roles.permissionCatalog()] }),
  );

  rest.get<{ Params: { companyId: string } }>(
    '/v3/companies/:companyId/permissions',
    { schema: { tags: TAGS, summary: "The permissions a company's roles can grant", operationId: 'listCompanyPermissions', description: 'The permission catalog as seen from one company (the same for every company today).', params: CompanyParams, response: { 200: PermissionsResponse, ...errorResponses } } },
    async (request) => {
      await services.tenants.get(ctx(request), request.params.companyId);
      return { permissions: [...services.roles.permissionCatalog()] };
    },
  );

  rest.get<{ Params: { userId: string } }>(
    '/v3/users/:userId/rbac-info',
    { schema: { tags: TAGS, summary: "A user's effective permissions, each with where it comes from", operationId: 'getRbacInfo', description: "Returns the union of the permissions of the user's direct roles and of every group's roles, each with grantedBy: the role and the group (or direct assignment) it comes from.", params: UserParams, response: { 200: RbacInfoResponse, ...errorResponses } } },
    async (request) => {
      const permissions = await services.roles.effectivePermissions(ctx(request), request.params.userId);
      return {
        hasOthersTripAccess: false,
        permissions: permissions.map((p) => ({ permission: p.permission, actions: p.actions, grantedBy: p.sources })),
      };
    },
  );
}
