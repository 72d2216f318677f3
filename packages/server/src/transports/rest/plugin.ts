import responseValidation from '@fastify/response-validation';
import type { LazySchemas } from '../http/lazy-schemas.ts';
import addFormats from 'ajv-formats';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../errors.ts';
import type { Page, RequestContext, UserGroup, UserGroupListArgs } from '../../domain/types.ts';
import type { Services } from '../../services/index.ts';
import {
  CompanyParams,
  CreateUserGroupRequest,
  GroupParams,
  ListMembersRequest,
  ListMembersResponse,
  ListUserGroupsRequest,
  ListUserGroupsResponse,
  RoleUserGroup,
  UpdateMembersRequest,
  UpdateUserGroupRequest,
  UserParams,
  adminSchemas,
  errorResponses,
  roleSchemas,
  sharedSchemas,
} from './schemas.ts';
import { registerRoleRoutes } from './roles.ts';
import { registerAdminRoutes } from './admin.ts';
import { registerCompanyRoutes } from './companies.ts';
import { requireActor } from '../http/protection.ts';
import { unsupportedMediaTypeOf } from '../http/json-body.ts';
import { methodNotAllowed, routeMethodsOf } from '../http/framework-errors.ts';
import { dateTime } from '../../services/validate.ts';
import { noteErrorCode } from '../../observability/metrics.ts';

// Writes by the super-admin key have no user behind them; REST reports them as this actor.
const SUPER_ADMIN_REFERENCE = { id: '00000000-0000-0000-0000-000000000000', name: 'Roster super-admin' };
const TAGS = { groups: ['User groups'], members: ['User group members'] };

const iso = (d: Date) => ({ iso8601: d.toISOString() });
const actorRef = (id: string | null) => (id ? { id } : SUPER_ADMIN_REFERENCE);

function toRoleUserGroup(g: UserGroup) {
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    companyId: g.tenantId,
    createdAt: iso(g.createdAt),
    updatedAt: iso(g.updatedAt),
    createdBy: actorRef(g.createdBy),
    updatedBy: actorRef(g.updatedBy),
    isUnmodifiable: g.isUnmodifiable,
  };
}

/** A group's ETag is its version: strong, and changed by every write to the group's own fields. */
const etagOf = (version: number) => `"${version}"`;

/**
 * The version named by `If-Match` (`"3"`), or undefined when absent or `*`. A stale one is a 409 CONFLICT that
 * names the current version; several tags, weak tags and anything else are refused as malformed.
 */
function ifMatch(request: FastifyRequest): number | undefined {
  const raw = request.headers['if-match'];
  if (raw === undefined || raw.trim() === '*') return undefined;
  const match = /^\s*"([1-9][0-9]{0,14})"\s*$/.exec(raw);
  if (!match) throw new AppError('BAD_USER_INPUT', 'If-Match: must be one ETag as returned by this API, e.g. "3"', { field: 'If-Match' });
  return Number(match[1]);
}

/** Spotnana's error body: `{ debugIdentifier, errorMessages: [{ errorCode, message, errorParameters }] }`. */
function errorBody(request: FastifyRequest, code: string, message: string, parameters: Record<string, unknown> = {}) {
  noteErrorCode(request, code);
  const errorParameters = Object.entries(parameters)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ({ name, value: typeof value === 'string' ? value : JSON.stringify(value) }));
  return { debugIdentifier: request.id, errorMessages: [{ errorCode: code, message, errorParameters }] };
}

/**
 * The REST API v3 (`/v3/...`). Routes only translate: they call the same services as GraphQL. The route schemas
 * validate requests, shape responses (unknown fields are never serialised) and produce `/openapi.json`.
 */
export async function registerRest(app: FastifyInstance, services: Services, schemas: LazySchemas): Promise<void> {
  for (const schema of [...sharedSchemas, ...roleSchemas, ...adminSchemas]) app.addSchema(schema);

  await app.register(async (rest) => {
    // Responses are validated against the same schemas as well: a field the schema lacks, or a wrong type, is a
    // bug of ours and fails loudly (500, logged) instead of leaking.
    const ajv = schemas.ajv({ removeAdditional: false, coerceTypes: false, allErrors: true, strict: false });
    addFormats.default(ajv);
    for (const schema of [...sharedSchemas, ...roleSchemas, ...adminSchemas]) ajv.addSchema(schema);
    await rest.register(responseValidation, { ajv });
    // preParsing: after the rate limiter (a route-level onRequest hook) has counted the request, so callers
    // without valid credentials are throttled too; before the body is read.
    rest.addHook('preParsing', async (request) => {
      requireActor(request);
    });

    rest.setErrorHandler((raised: FastifyError | AppError, request, reply) => {
      const error = unsupportedMediaTypeOf(raised, request);
      if (isAppError(error)) {
        if (error.status === 503) void reply.header('retry-after', '1');
        return reply.code(error.status).send(errorBody(request, error.code, error.message, error.details));
      }
      if (error.validation && error.validationContext === 'params') {
        // `GET /v3/companies/list` reads as `GET /v3/companies/{companyId}` with companyId "list", but the path is
        // POST /v3/companies/list's: where other methods have a route with that segment literal, the method is
        // what is wrong (405, `Allow` naming them), not the parameter.
        const taken = Object.keys((request.params as object | null) ?? {}).length;
        const literal = [...routeMethodsOf(request.server, request.url)].filter(([method, params]) => method !== request.method && params < taken);
        if (literal.length > 0) return methodNotAllowed(request, reply, literal.map(([method]) => method));
      }
      if (error.validation) {
        // Name the field as the caller wrote it: `pagination.limit`, `userIdsToAdd.0`, or a missing property.
        const first = error.validation[0];
        const path = (first?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
        const params = first?.params as { missingProperty?: string; additionalProperty?: string } | undefined;
        // An unknown property is named with its path (`pagination.colour`), like a missing one.
        const unknown = first?.keyword === 'additionalProperties' ? params?.additionalProperty : undefined;
        const field = [path, params?.missingProperty ?? unknown].filter(Boolean).join('.') || error.validationContext || 'body';
        const message = unknown !== undefined ? `unknown property ${JSON.stringify(unknown)}` : (first?.message ?? error.message);
        return reply.code(400).send(errorBody(request, 'BAD_USER_INPUT', `${field}: ${message}`, { field }));
      }
      if (error.statusCode === 413) return reply.code(413).send(errorBody(request, 'PAYLOAD_TOO_LARGE', error.message));
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return reply.code(error.statusCode).send(errorBody(request, 'BAD_USER_INPUT', error.message));
      }
      request.log.error({ err: error }, 'unexpected error in REST handler');
      return reply.code(500).send(errorBody(request, 'INTERNAL_SERVER_ERROR', `Internal error; quote request id ${request.id}`));
    });

    const ctx = (request: FastifyRequest): RequestContext => ({ actor: request.actor!, requestId: request.id, clientRequestId: request.clientRequestId ?? null });

    /**
     * The group, if it belongs to the company in the path; another company's group is simply not found. Only
     * that: the service each route then calls decides the route's action, by the same rule as GraphQL.
     */
    const groupOf = async (request: FastifyRequest, params: { companyId: string; groupId: string }) => {
      const group = await services.groups.select(ctx(request), { id: params.groupId, idField: 'groupId' });
      if (group.tenantId !== params.companyId.toLowerCase()) throw new AppError('NOT_FOUND', `UserGroup not found (groupId = "${params.groupId}")`, { field: 'groupId' });
      return group;
    };

    rest.post<{ Params: { companyId: string }; Body: CreateUserGroupRequest }>(
      '/v3/companies/:companyId/user-groups',
      { schema: { tags: TAGS.groups, summary: 'Create a user group', operationId: 'createUserGroup', description: 'Creates a custom user group in the company; it starts with no members and no roles.', params: CompanyParams, body: CreateUserGroupRequest, response: { 200: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] }, ...errorResponses } } },
      async (request) => {
        // Another company is not found, whoever asks; then only the super-admin may create.
        const company = await services.tenants.get(ctx(request), request.params.companyId);
        const reference = `rest-${crypto.randomUUID()}`;
        const group = await services.groups.create(ctx(request), { ...request.body, reference, tenantId: company.id });
        return { id: group.id };
      },
    );

    rest.post<{ Params: { companyId: string }; Body: ListUserGroupsRequest }>(
      '/v3/companies/:companyId/user-groups/list',
      { schema: { tags: TAGS.groups, summary: "List a company's user groups", operationId: 'listUserGroups', description: "Lists the company's user groups with case-insensitive search on the name, sorting by NAME or CREATED_AT (default CREATED_AT ASC), offset pagination, and filters by group id (groups matching any filter).", params: CompanyParams, body: ListUserGroupsRequest, response: { 200: ListUserGroupsResponse, ...errorResponses } } },
      async (request) => listGroups(request, (args) => services.groups.listForCompany(ctx(request), request.params.companyId, args)),
    );

    rest.post<{ Params: { userId: string }; Body: ListUserGroupsRequest }>(
      '/v3/users/:userId/user-groups',
      { schema: { tags: TAGS.groups, summary: 'List the user groups a user is a member of', operationId: 'listUserGroupsForUser', description: 'Lists the groups the user is a member of, with the same search, sort and pagination as the company list.', params: UserParams, body: ListUserGroupsRequest, response: { 200: ListUserGroupsResponse, ...errorResponses } } },
      async (request) => listGroups(request, (args) => services.groups.listForUser(ctx(request), request.params.userId, args)),
    );

    async function listGroups(request: FastifyRequest<{ Body: ListUserGroupsRequest }>, list: (args: UserGroupListArgs) => Promise<Page<UserGroup>>) {
      const body = request.body;
      const ids = body.filters?.flatMap((f) => f.userGroupIds);
      const page = await list({
        filter: ids ? { id: { valueIn: ids } } : {},
        search: body.searchText ? { key: 'name', value: body.searchText } : null,
        order: { sort: body.sortParams?.sortBy === 'NAME' ? 'name' : 'createdAt', order: body.sortParams?.sortOrder ?? 'ASC' },
        limit: body.pagination.limit,
        offset: body.pagination.offset,
      });
      return { userGroups: page.data.map(toRoleUserGroup), pagination: { totalNumResults: await page.count() } };
    }

    rest.get<{ Params: GroupParams }>(
      '/v3/companies/:companyId/user-groups/:groupId',
      { schema: { tags: TAGS.groups, summary: 'Read a user group', operationId: 'getUserGroup', description: 'Reads one user group of the company. A group of another company is reported as not found.', params: GroupParams, response: { 200: RoleUserGroup, ...errorResponses } } },
      async (request, reply) => {
        const group = await services.groups.get(ctx(request), (await groupOf(request, request.params)).id, 'groupId');
        reply.header('etag', etagOf(group.version));
        return toRoleUserGroup(group);
      },
    );

    rest.patch<{ Params: GroupParams; Body: { name?: string; description?: string } }>(
      '/v3/companies/:companyId/user-groups/:groupId',
      { schema: { tags: TAGS.groups, summary: "Change a group's name or description (not of platform groups)", operationId: 'updateUserGroup', description: 'Renames a group or changes its description. Platform groups (isUnmodifiable) refuse with 403.', params: GroupParams, body: UpdateUserGroupRequest, response: { 200: RoleUserGroup, ...errorResponses } } },
      async (request, reply) => {
        const group = await groupOf(request, request.params);
        const updated = await services.groups.update(ctx(request), group.id, request.body, ifMatch(request), 'If-Match');
        reply.header('etag', etagOf(updated.version));
        return toRoleUserGroup(updated);
      },
    );

    rest.delete<{ Params: GroupParams }>(
      '/v3/companies/:companyId/user-groups/:groupId',
      { schema: { tags: TAGS.groups, summary: 'Delete a user group (not a platform group)', operationId: 'deleteUserGroup', description: 'Deletes a group with its memberships and role assignments. Platform groups refuse with 403.', params: GroupParams, response: { 200: { type: 'object', properties: {} }, ...errorResponses } } },
      async (request) => {
        const group = await groupOf(request, request.params);
        // Gone meanwhile (a concurrent delete won): the caller deleted nothing.
        if (!(await services.groups.delete(ctx(request), group.id, ifMatch(request), 'If-Match'))) {
          throw new AppError('NOT_FOUND', `UserGroup not found (groupId = "${request.params.groupId}")`, { field: 'groupId' });
        }
        return {};
      },
    );

    rest.post<{ Params: GroupParams; Body: ListMembersRequest }>(
      '/v3/companies/:companyId/user-groups/:groupId/members',
      { schema: { tags: TAGS.members, summary: "List a group's members with when each was added", operationId: 'listUserGroupMembers', description: "Lists the group's members (userId, addedAt), sorted by ADDED_AT, with filters addedAfter (inclusive), addedBefore (exclusive) and userIds; members matching any filter are returned.", params: GroupParams, body: ListMembersRequest, response: { 200: ListMembersResponse, ...errorResponses } } },
      async (request) => {
        const group = await groupOf(request, request.params);
        const body = request.body;
        const date = (field: string, v: { iso8601: string } | undefined) => {
          if (!v) return undefined;
          return dateTime(field, v.iso8601);
        };
        const page = await services.groups.listMemberships(ctx(request), group.id, {
          filters: (body.filters ?? []).map((f, i) => ({
            addedAfter: date(`filters.${i}.addedAfter`, f.addedAfter),
            addedBefore: date(`filters.${i}.addedBefore`, f.addedBefore),
            userIds: f.userIds,
          })),
          order: body.sortParams?.sortOrder ?? 'ASC',
          limit: body.pagination.limit,
          offset: body.pagination.offset,
        });
        return {
          members: page.data.map((m) => ({ userId: m.userId, addedAt: iso(m.addedAt) })),
          pagination: { totalNumResults: await page.count() },
        };
      },
    );

    registerRoleRoutes(rest, services, { ctx, groupOf });
    registerAdminRoutes(rest, services, ctx);
    registerCompanyRoutes(rest, services, ctx);

    rest.patch<{ Params: GroupParams; Body: UpdateMembersRequest }>(
      '/v3/companies/:companyId/user-groups/:groupId/members',
      { schema: { tags: TAGS.members, summary: 'Add and remove members, all or nothing', operationId: 'updateUserGroupMembers', description: "Adds userIdsToAdd and removes userIdsToRemove (alias userIdsToDelete) in one transaction. An unknown user, a user of another company, or an id in both lists rejects the whole request with 400; already-members and non-members are no-ops. Members inherit the group's roles at once.", params: GroupParams, body: UpdateMembersRequest, response: { 200: { type: 'object', properties: {} }, ...errorResponses } } },
      async (request, reply: FastifyReply) => {
        const group = await groupOf(request, request.params);
        const body = request.body;
        const removeField = body.userIdsToDelete && !body.userIdsToRemove ? 'userIdsToDelete' : 'userIdsToRemove';
        await services.memberships.applyParticipants(ctx(request), {
          group: { id: group.id },
          add: body.userIdsToAdd ?? [],
          remove: [...(body.userIdsToRemove ?? []), ...(body.userIdsToDelete ?? [])],
          addField: 'userIdsToAdd',
          removeField,
        });
        return reply.code(200).send({});
      },
    );
  });
}
