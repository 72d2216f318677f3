import { Type, type Static } from '@sinclair/typebox';

/** JSON schemas of the REST API (Spotnana's Access Management v3 shapes); they validate and document it. */

export const Uuid = Type.String({ format: 'uuid', description: 'A UUID' });

export const ErrorResponse = Type.Object(
  {
    debugIdentifier: Type.String({ description: 'The request id; quote it when reporting a problem' }),
    errorMessages: Type.Array(
      Type.Object({
        errorCode: Type.String({ description: 'Stable machine code, e.g. BAD_USER_INPUT, NOT_FOUND' }),
        message: Type.String(),
        errorParameters: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })),
      }),
    ),
  },
  { $id: 'ErrorResponse' },
);

export const DateTimeOffset = Type.Object(
  { iso8601: Type.String({ description: 'ISO-8601 date-time; in a request, between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z' }) },
  { $id: 'DateTimeOffset' },
);
/** A date-time a request sends: what PostgreSQL and JavaScript both hold (validate.dateTime checks the range). */
const InputDateTime = Type.String({ format: 'date-time', maxLength: 64, description: 'ISO-8601 date-time between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z' });
export const Reference = Type.Object({ id: Uuid, name: Type.Optional(Type.String()) }, { $id: 'Reference' });

export const RoleUserGroup = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    companyId: Uuid,
    createdAt: Type.Ref(DateTimeOffset),
    updatedAt: Type.Ref(DateTimeOffset),
    createdBy: Type.Ref(Reference),
    updatedBy: Type.Ref(Reference),
    isUnmodifiable: Type.Boolean({ description: 'Platform group: name, description and roles cannot change; members can' }),
  },
  { $id: 'RoleUserGroup' },
);

export const PaginationRequest = Type.Object(
  {
    offset: Type.Integer({ minimum: 0, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { $id: 'OffsetBasedPaginationRequestParams', additionalProperties: false },
);
export const PaginationResponse = Type.Object({ totalNumResults: Type.Integer() }, { $id: 'OffsetBasedPaginationResponseParams' });

const SortOrder = Type.Union([Type.Literal('ASC'), Type.Literal('DESC')], { default: 'ASC' });

export const ListUserGroupsRequest = Type.Object(
  {
    searchText: Type.Optional(Type.String({ maxLength: 255, description: 'Case-insensitive substring of the name' })),
    pagination: Type.Ref(PaginationRequest),
    sortParams: Type.Optional(
      Type.Object({ sortBy: Type.Union([Type.Literal('NAME'), Type.Literal('CREATED_AT')]), sortOrder: SortOrder }, { additionalProperties: false }),
    ),
    filters: Type.Optional(
      Type.Array(Type.Object({ userGroupIds: Type.Array(Uuid, { maxItems: 1000 }) }, { additionalProperties: false }), {
        maxItems: 100,
        description: 'Groups matching ANY filter are returned',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListUserGroupsRequest = Static<typeof ListUserGroupsRequest>;

export const ListUserGroupsResponse = Type.Object({
  userGroups: Type.Array(Type.Ref(RoleUserGroup)),
  pagination: Type.Ref(PaginationResponse),
});

export const ListMembersRequest = Type.Object(
  {
    pagination: Type.Ref(PaginationRequest),
    sortParams: Type.Optional(Type.Object({ sortBy: Type.Literal('ADDED_AT'), sortOrder: SortOrder }, { additionalProperties: false })),
    filters: Type.Optional(
      Type.Array(
        Type.Object(
          {
            addedAfter: Type.Optional(Type.Ref(DateTimeOffset)),
            addedBefore: Type.Optional(Type.Ref(DateTimeOffset)),
            userIds: Type.Optional(Type.Array(Uuid, { maxItems: 10000 })),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100, description: 'Members matching ANY filter are returned; addedAfter is inclusive, addedBefore exclusive' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ListMembersRequest = Static<typeof ListMembersRequest>;

export const ListMembersResponse = Type.Object({
  members: Type.Array(Type.Object({ userId: Uuid, addedAt: Type.Ref(DateTimeOffset) })),
  pagination: Type.Ref(PaginationResponse),
});

export const UpdateMembersRequest = Type.Object(
  {
    userIdsToAdd: Type.Optional(Type.Array(Uuid)),
    userIdsToRemove: Type.Optional(Type.Array(Uuid)),
    userIdsToDelete: Type.Optional(Type.Array(Uuid, { description: 'Alias of userIdsToRemove' })),
  },
  { additionalProperties: false },
);
export type UpdateMembersRequest = Static<typeof UpdateMembersRequest>;

export const CreateUserGroupRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.String({ maxLength: 1000 }),
  },
  { additionalProperties: false },
);
export type CreateUserGroupRequest = Static<typeof CreateUserGroupRequest>;

export const UpdateUserGroupRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateUserGroupRequest = Static<typeof UpdateUserGroupRequest>;

export const CompanyParams = Type.Object({ companyId: Uuid });
export const GroupParams = Type.Object({ companyId: Uuid, groupId: Uuid });
export const UserParams = Type.Object({ userId: Uuid });
export type GroupParams = Static<typeof GroupParams>;

export const sharedSchemas = [ErrorResponse, DateTimeOffset, Reference, RoleUserGroup, PaginationRequest, PaginationResponse];

/** Every route documents the same error responses. */
export const errorResponses = {
  400: Type.Ref(ErrorResponse),
  401: Type.Ref(ErrorResponse),
  403: Type.Ref(ErrorResponse),
  404: Type.Ref(ErrorResponse),
  409: Type.Ref(ErrorResponse),
  413: Type.Ref(ErrorResponse),
  422: Type.Ref(ErrorResponse),
  429: Type.Ref(ErrorResponse),
  /** SERVICE_UNAVAILABLE, STATEMENT_TIMEOUT: transient; with `Retry-After` */
  503: Type.Ref(ErrorResponse),
};

export const PermissionGrantSchema = Type.Object(
  { permission: Type.String(), actions: Type.Array(Type.String()) },
  { $id: 'PermissionGrant' },
);
export const RoleScopeSchema = Type.Object(
  { audiences: Type.Array(Type.Object({ predicates: Type.Array(Type.Unknown()) })) },
  { $id: 'RoleScope', description: 'Where the role applies; no audiences means the whole company' },
);
export const RoleSchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    isPlatformRole: Type.Boolean(),
    companyId: Type.Optional(Uuid),
    permissions: Type.Array(Type.Ref(PermissionGrantSchema)),
    createdAt: Type.Ref(DateTimeOffset),
    updatedAt: Type.Ref(DateTimeOffset),
  },
  { $id: 'Role' },
);

const GroupRoleEntries = Type.Array(Type.Object({ role: Type.Ref(RoleSchema), scope: Type.Ref(RoleScopeSchema) }));
export const GroupRolesResponse = Type.Object({ roles: GroupRoleEntries });

/** A listing by name whose every part is optional: an empty body lists by name, the first 100. */
const optionalNameListing = (what: string) =>
  Type.Object(
    {
      searchText: Type.Optional(Type.String({ maxLength: 255, description: `Case-insensitive substring of the ${what} name` })),
      pagination: Type.Optional(Type.Ref(PaginationRequest)),
      sortParams: Type.Optional(
        Type.Object({ sortBy: Type.Union([Type.Literal('NAME'), Type.Literal('CREATED_AT')]), sortOrder: SortOrder }, { additionalProperties: false }),
      ),
    },
    { additionalProperties: false },
  );
export const ListGroupRolesRequest = optionalNameListing('role');
export type ListGroupRolesRequest = Static<typeof ListGroupRolesRequest>;
export const ListGroupRolesResponse = Type.Object({ roles: GroupRoleEntries, pagination: Type.Ref(PaginationResponse) });

export const CompanySchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    reference: Type.Union([Type.String(), Type.Null()]),
    isDefault: Type.Boolean({ description: 'The company users and groups created without one belong to' }),
    createdAt: Type.Ref(DateTimeOffset),
    updatedAt: Type.Ref(DateTimeOffset),
  },
  { $id: 'Company' },
);
export const ListCompaniesRequest = optionalNameListing('company');
export type ListCompaniesRequest = Static<typeof ListCompaniesRequest>;
export const ListCompaniesResponse = Type.Object({ companies: Type.Array(Type.Ref(CompanySchema)), pagination: Type.Ref(PaginationResponse) });

const RoleAssignment = Type.Object(
  { roleId: Uuid, scope: Type.Optional(Type.Ref(RoleScopeSchema)) },
  { additionalProperties: false },
);
export const UpdateGroupRolesRequest = Type.Object(
  {
    rolesToAdd: Type.Optional(Type.Array(RoleAssignment, { maxItems: 1000 })),
    rolesToDelete: Type.Optional(Type.Array(Type.Object({ roleId: Uuid }, { additionalProperties: true }), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export type UpdateGroupRolesRequest = Static<typeof UpdateGroupRolesRequest>;

export const ListRolesRequest = Type.Object(
  {
    searchText: Type.Optional(Type.String({ maxLength: 255 })),
    pagination: Type.Ref(PaginationRequest),
    sortParams: Type.Optional(Type.Object({ sortBy: Type.Union([Type.Literal('NAME'), Type.Literal('CREATED_AT')]), sortOrder: SortOrder }, { additionalProperties: false })),
    filters: Type.Optional(
      Type.Array(
        Type.Object(
          {
            roleIds: Type.Optional(Type.Array(Uuid, { maxItems: 1000 })),
            roleProvidedBy: Type.Optional(Type.Array(Type.Union([Type.Literal('PLATFORM'), Type.Literal('COMPANY')]))),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100 },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ListRolesRequest = Static<typeof ListRolesRequest>;
export const ListRolesResponse = Type.Object({ roles: Type.Array(Type.Ref(RoleSchema)), pagination: Type.Ref(PaginationResponse) });

export const PermissionsResponse = Type.Object({
  permissions: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })),
});

export const RbacInfoResponse = Type.Object({
  hasOthersTripAccess: Type.Boolean({ description: 'Always false: Roster has no trips' }),
  permissions: Type.Array(
    Type.Object({
      permission: Type.String(),
      actions: Type.Array(Type.String()),
      grantedBy: Type.Array(
        Type.Object({
          roleId: Uuid,
          roleName: Type.String(),
          via: Type.Union([Type.Literal('direct'), Type.Literal('group')]),
          groupId: Type.Union([Uuid, Type.Null()]),
          groupName: Type.Union([Type.String(), Type.Null()]),
          actions: Type.Array(Type.String()),
        }),
        { description: 'Where the permission comes from: a direct assignment or a group' },
      ),
    }),
  ),
});

export const roleSchemas = [PermissionGrantSchema, RoleScopeSchema, RoleSchema];

export const CreateRoleRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Stable key; derived from the name when absent' })),
    permissions: Type.Array(Type.Ref(PermissionGrantSchema), { maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type CreateRoleRequest = Static<typeof CreateRoleRequest>;

// ---- administration: audit log and API keys ----

export const AuditEventSchema = Type.Object(
  {
    id: Uuid,
    occurredAt: Type.Ref(DateTimeOffset),
    companyId: Type.Union([Uuid, Type.Null()]),
    actorKind: Type.String({ description: 'apiKey, user or system' }),
    actorId: Type.Union([Type.String(), Type.Null()], { description: 'API key id or user id; a pseudonym once that user was erased' }),
    operation: Type.String({ description: 'e.g. user.create, userGroup.update, userGroup.members.add, apiKey.revoke' }),
    targetType: Type.String(),
    targetId: Type.Union([Type.String(), Type.Null()]),
    changes: Type.Object({}, { additionalProperties: true, description: 'Changed fields: values on creation, { from, to } on update; never secrets' }),
    requestId: Type.Union([Type.String(), Type.Null()], { description: "The server's id of the request that made the change (the x-request-id of its response)" }),
    clientRequestId: Type.Union([Type.String(), Type.Null()], { description: 'The x-request-id the caller sent with that request, if it sent a well-formed one; never used as the request id' }),
  },
  { $id: 'AuditEvent' },
);

export const ListAuditEventsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    after: Type.Optional(Type.String({ maxLength: 200, description: 'The nextCursor of the previous page' })),
    operation: Type.Optional(Type.String({ maxLength: 255 })),
    actorId: Type.Optional(Type.String({ maxLength: 255 })),
    targetId: Type.Optional(Type.String({ maxLength: 255 })),
    targetType: Type.Optional(Type.String({ maxLength: 255 })),
    occurredAfter: Type.Optional(InputDateTime),
    occurredBefore: Type.Optional(InputDateTime),
  },
  { additionalProperties: false },
);
export type ListAuditEventsQuery = Static<typeof ListAuditEventsQuery>;

export const ListAuditEventsResponse = Type.Object({
  events: Type.Array(Type.Ref(AuditEventSchema)),
  pagination: Type.Object({ nextCursor: Type.Union([Type.String(), Type.Null()]), hasNextPage: Type.Boolean() }),
});

export const ApiKeySchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    prefix: Type.String({ description: 'The first characters of the key, to recognise it; never the key' }),
    createdAt: Type.Ref(DateTimeOffset),
    lastUsedAt: Type.Union([Type.Ref(DateTimeOffset), Type.Null()]),
    expiresAt: Type.Union([Type.Ref(DateTimeOffset), Type.Null()]),
    revokedAt: Type.Union([Type.Ref(DateTimeOffset), Type.Null()]),
    replacedBy: Type.Union([Uuid, Type.Null()]),
  },
  { $id: 'ApiKey' },
);

export const CreatedApiKeyResponse = Type.Object({
  apiKey: Type.Ref(ApiKeySchema),
  key: Type.String({ description: 'The key itself, shown this once: only its hash is stored' }),
});

export const CreateApiKeyRequest = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    expiresAt: Type.Optional(InputDateTime),
  },
  { additionalProperties: false },
);
export type CreateApiKeyRequest = Static<typeof CreateApiKeyRequest>;

export const RotateApiKeyRequest = Type.Object(
  { gracePeriodSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604800, description: 'How long the old key keeps working (default 0)' })) },
  { additionalProperties: false },
);
export type RotateApiKeyRequest = Static<typeof RotateApiKeyRequest>;

export const ApiKeyParams = Type.Object({ keyId: Uuid });

export const RevokedUserTokensResponse = Type.Object(
  { userId: Uuid, revokedAt: Type.Ref(DateTimeOffset) },
  { description: 'Tokens of the user issued before revokedAt no longer authenticate' },
);

export const ListApiKeysQuery = Type.Object({ includeRevoked: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false });

export const adminSchemas = [AuditEventSchema, ApiKeySchema, CompanySchema];
