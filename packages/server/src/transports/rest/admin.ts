import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
import type { RequestContext } from '../../domain/types.ts';
import type { ApiKeyRecord } from '../../repositories/api-keys.ts';
import type { AuditRecord } from '../../repositories/audit.ts';
import type { Services } from '../../services/index.ts';
import { dateTime } from '../../services/validate.ts';
import {
  ApiKeyParams,
  ApiKeySchema,
  CompanyParams,
  CreateApiKeyRequest,
  CreatedApiKeyResponse,
  ListApiKeysQuery,
  ListAuditEventsQuery,
  ListAuditEventsResponse,
  RevokedUserTokensResponse,
  RotateApiKeyRequest,
  UserParams,
  errorResponses,
} from './schemas.ts';

// Query strings are text: `?limit=5` must read as 5. Bodies stay strict (the app's Ajv does not coerce), so only
// the GET routes here, which have no body, use this coercing validator for their path and query parameters.
const coercing = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
addFormats.default(coercing);
const queryValidator = ({ schema }: { schema: FastifySchema }) => coercing.compile(schema as object);

const iso = (d: Date) => ({ iso8601: d.toISOString() });
const isoOrNull = (d: Date | null) => (d ? iso(d) : null);

function toRestAuditEvent(e: AuditRecord) {
  return {
    id: e.id,
    occurredAt: iso(e.occurredAt),
    companyId: e.tenantId,
    actorKind: e.actorKind,
    actorId: e.actorId,
    operation: e.operation,
    targetType: e.targetType,
    targetId: e.targetId,
    changes: e.changes,
    requestId: e.requestId,
    clientRequestId: e.clientRequestId,
  };
}

function toRestApiKey(k: ApiKeyRecord) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: iso(k.createdAt),
    lastUsedAt: isoOrNull(k.lastUsedAt),
    expiresAt: isoOrNull(k.expiresAt),
    revokedAt: isoOrNull(k.revokedAt),
    replacedBy: k.replacedBy,
  };
}

/** The audit log of a company, and the super-admin's API keys. */
export function registerAdminRoutes(rest: FastifyInstance, services: Services, ctx: (request: FastifyRequest) => RequestContext): void {
  rest.get<{ Params: { companyId: string }; Querystring: ListAuditEventsQuery }>(
    '/v3/companies/:companyId/audit-events',
    { validatorCompiler: queryValidator, schema: { tags: ['Audit log'], summary: "Read a company's audit log", operationId: 'listAuditEvents', description: 'Every write in the company, newest first, by cursor (nextCursor → after). Needs REPORT_MANAGEMENT: READ, or the super-admin key. Erased users appear as pseudonyms.', params: CompanyParams, querystring: ListAuditEventsQuery, response: { 200: ListAuditEventsResponse, ...errorResponses } } },
    async (request) => {
      const q = request.query;
      const page = await services.audit.list(ctx(request), {
        tenantId: request.params.companyId,
        first: q.limit,
        after: q.after,
        operation: q.operation,
        actorId: q.actorId,
        targetId: q.targetId,
        targetType: q.targetType,
        occurredAfter: q.occurredAfter ? dateTime('occurredAfter', q.occurredAfter) : undefined,
        occurredBefore: q.occurredBefore ? dateTime('occurredBefore', q.occurredBefore) : undefined,
      });
      return { events: page.data.map(toRestAuditEvent), pagination: { nextCursor: page.endCursor, hasNextPage: page.hasNextPage } };
    },
  );

  rest.post<{ Params: { userId: string } }>(
    '/v3/users/:userId/revoke-tokens',
    { schema: { tags: ['Users'], summary: "Revoke a user's tokens", operationId: 'revokeUserTokens', description: "Ends every token issued to the user so far, on this node at once and on the others within ROSTER_KEY_REFRESH_SECONDS; tokens issued later work. Deactivating or deleting a user does the same. Needs USER_MANAGEMENT: WRITE in the user's company (company admins hold it), or the super-admin key.", params: UserParams, response: { 200: RevokedUserTokensResponse, ...errorResponses } } },
    async (request) => {
      const revoked = await services.users.revokeTokens(ctx(request), request.params.userId);
      return { userId: revoked.userId, revokedAt: iso(revoked.revokedAt) };
    },
  );

  const TAGS = ['API keys'];
  rest.get<{ Querystring: { includeRevoked?: boolean } }>(
    '/v3/api-keys',
    { validatorCompiler: queryValidator, schema: { tags: TAGS, summary: 'List API keys (prefixes only)', operationId: 'listApiKeys', description: 'The super-admin API keys, newest first; revoked ones with includeRevoked=true. Keys themselves are never shown again.', querystring: ListApiKeysQuery, response: { 200: { type: 'object', properties: { apiKeys: { type: 'array', items: { $ref: 'ApiKey#' } } }, required: ['apiKeys'] }, ...errorResponses } } },
    async (request) => ({ apiKeys: (await services.apiKeys.list(ctx(request), request.query.includeRevoked === true)).map(toRestApiKey) }),
  );

  rest.post<{ Body: CreateApiKeyRequest }>(
    '/v3/api-keys',
    { schema: { tags: TAGS, summary: 'Create an API key', operationId: 'createApiKey', description: 'Creates a super-admin API key. The response holds the key once; only its SHA-256 is stored.', body: CreateApiKeyRequest, response: { 200: CreatedApiKeyResponse, ...errorResponses } } },
    async (request) => {
      const issued = await services.apiKeys.create(ctx(request), { name: request.body.name, expiresAt: request.body.expiresAt ? dateTime('expiresAt', request.body.expiresAt) : null });
      return { apiKey: toRestApiKey(issued.record), key: issued.key };
    },
  );

  rest.post<{ Params: { keyId: string }; Body: RotateApiKeyRequest }>(
    '/v3/api-keys/:keyId/rotate',
    { schema: { tags: TAGS, summary: 'Rotate an API key', operationId: 'rotateApiKey', description: 'Issues a new key with the same name; the old one stops working now, or after gracePeriodSeconds.', params: ApiKeyParams, body: RotateApiKeyRequest, response: { 200: CreatedApiKeyResponse, ...errorResponses } } },
    async (request) => {
      const issued = await services.apiKeys.rotate(ctx(request), request.params.keyId, request.body?.gracePeriodSeconds ?? 0);
      return { apiKey: toRestApiKey(issued.record), key: issued.key };
    },
  );

  rest.delete<{ Params: { keyId: string } }>(
    '/v3/api-keys/:keyId',
    { schema: { tags: TAGS, summary: 'Revoke an API key', operationId: 'revokeApiKey', description: 'Revokes the key at once, with the service-account tokens obtained with it. The last working key cannot be revoked (409).', params: ApiKeyParams, response: { 200: ApiKeySchema, ...errorResponses } } },
    async (request) => toRestApiKey(await services.apiKeys.revoke(ctx(request), request.params.keyId)),
  );

  rest.post(
    '/v3/signing-keys/rotate',
    { schema: { tags: TAGS, summary: 'Rotate the JWT signing key', operationId: 'rotateSigningKey', description: 'A new ES256 key signs tokens from now on; earlier keys keep verifying until their tokens expire. Public keys: /.well-known/jwks.json.', response: { 200: { type: 'object', properties: { kid: { type: 'string' } }, required: ['kid'] }, ...errorResponses } } },
    async (request) => services.auth.rotateSigningKey(ctx(request)),
  );
}
