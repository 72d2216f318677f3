/**
 * Small fixtures shared by the behaviour tests: create tenants, users and groups through the GraphQL API, obtain
 * user tokens through `POST /v01/authorize`, and check the error envelope.
 */
import assert from 'node:assert/strict';
import { gql, gqlOk, unique, type GraphqlResponse, type TestServer } from './server.ts';

export type Server = Pick<TestServer, 'url' | 'apiKey'>;

export const ERROR_STATUS = { BAD_USER_INPUT: 400, UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409 } as const;
export type ClientErrorCode = keyof typeof ERROR_STATUS;

interface RenderedError {
  message: string;
  extensions: { code: string; field?: string; response?: { statusCode: number; errorCode: string; message: string } };
}

/**
 * Asserts that `res` failed with exactly one error of `code`, in the ROQ envelope, and (when given) that its
 * message names `field`. Returns the error for further checks.
 */
export function expectError(res: GraphqlResponse<unknown>, code: ClientErrorCode, field?: string | RegExp): RenderedError {
  assert.notEqual(res.status, 500, `unexpected 500: ${JSON.stringify(res.errors)}`);
  assert.ok(res.errors && res.errors.length >= 1, `expected a ${code} error, got data ${JSON.stringify(res.data)}`);
  const error = res.errors[0] as unknown as RenderedError;
  assert.equal(error.extensions.code, code, `expected ${code}, got ${JSON.stringify(res.errors)}`);
  assert.deepEqual(error.extensions.response, { statusCode: ERROR_STATUS[code], errorCode: code, message: error.message });
  if (field !== undefined) {
    if (typeof field === 'string') assert.ok(error.message.includes(field), `message ${JSON.stringify(error.message)} does not name ${field}`);
    else assert.match(error.message, field);
  }
  // Whatever failed, nothing of a failed root field is returned.
  if (res.data !== null && typeof res.data === 'object') {
    for (const value of Object.values(res.data as Record<string, unknown>)) assert.equal(value, null);
  }
  return error;
}

export async function createTenant(server: Server, name = unique('Tenant')): Promise<string> {
  const data = await gqlOk<{ createTenant: { id: string } }>(
    server,
    `mutation($t: TenantCreateDto!) { createTenant(tenant: $t) { id } }`,
    { t: { name, reference: unique('tenant-ref') } },
  );
  return data.createTenant.id;
}

export interface CreatedUser {
  id: string;
  reference: string;
  email: string;
  tenantId: string;
}

export async function createUser(server: Server, fields: Record<string, unknown> = {}): Promise<CreatedUser> {
  const reference = unique('user');
  const data = await gqlOk<{ createUser: CreatedUser }>(
    server,
    `mutation($u: UserCreateDto!) { createUser(user: $u) { id reference email tenantId } }`,
    { u: { reference, email: `${reference}@example.test`, ...fields } },
  );
  return data.createUser;
}

/** Creates `n` users in one request (aliased mutations run in order), in the given tenant or the default. */
export async function createUsers(server: Server, n: number, tenantId?: string): Promise<CreatedUser[]> {
  const out: CreatedUser[] = [];
  for (let start = 0; start < n; start += 50) {
    const count = Math.min(50, n - start);
    const fields = Array.from({ length: count }, (_, i) => {
      const reference = unique('bulk');
      const tenant = tenantId ? `, tenantId: ${JSON.stringify(tenantId)}` : '';
      return `u${i}: createUser(user: { reference: ${JSON.stringify(reference)}, email: ${JSON.stringify(`${reference}@example.test`)}${tenant} }) { id reference email tenantId }`;
    });
    const data = await gqlOk<Record<string, CreatedUser>>(server, `mutation { ${fields.join('\n')} }`);
    for (let i = 0; i < count; i++) out.push(data[`u${i}`]!);
  }
  return out;
}

export interface CreatedGroup {
  id: string;
  reference: string;
  name: string;
  tenantId: string;
}

export async function createGroup(server: Server, fields: Record<string, unknown> = {}): Promise<CreatedGroup> {
  const reference = unique('group');
  const data = await gqlOk<{ createUserGroup: CreatedGroup }>(
    server,
    `mutation($g: UserGroupCreateDto!) { createUserGroup(userGroup: $g) { id reference name tenantId } }`,
    { g: { name: reference, reference, ...fields } },
  );
  return data.createUserGroup;
}

export async function addMembers(server: Server, groupId: string, userIds: string[]): Promise<void> {
  const data = await gqlOk<{ addUsersToUserGroup: boolean }>(
    server,
    `mutation($g: ID!, $u: [ID!]!) { addUsersToUserGroup(userGroupId: $g, userIds: $u) }`,
    { g: groupId, u: userIds },
  );
  assert.equal(data.addUsersToUserGroup, true);
}

export async function addManagers(server: Server, groupId: string, userIds: string[]): Promise<void> {
  const data = await gqlOk<{ addManagersToGroup: { response: { failedIds: string[] } } }>(
    server,
    `mutation($g: UUID!, $u: [UUID!]) { addManagersToGroup(groupId: $g, userIds: $u) { response { failedIds } } }`,
    { g: groupId, u: userIds },
  );
  assert.deepEqual(data.addManagersToGroup.response.failedIds, []);
}

/** Participant ids of a group, sorted, as the super-admin sees them (deactivated users included). */
export async function memberIds(server: Server, groupId: string): Promise<string[]> {
  const data = await gqlOk<{ userGroup: { users: { data: { id: string }[]; totalCount: number } } }>(
    server,
    `query($id: ID!) { userGroup(id: $id) { users(limit: 1000, filter: { withDeactivated: { equalTo: true } }) { data { id } totalCount } } }`,
    { id: groupId },
  );
  const ids = data.userGroup.users.data.map((u) => u.id).sort();
  assert.equal(data.userGroup.users.totalCount, ids.length);
  return ids;
}

/** Manager ids of a group, sorted. */
export async function managerIds(server: Server, groupId: string): Promise<string[]> {
  const data = await gqlOk<{ userGroup: { managers: { data: { id: string }[] } } }>(
    server,
    `query($id: ID!) { userGroup(id: $id) { managers(limit: 1000) { data { id } } } }`,
    { id: groupId },
  );
  return data.userGroup.managers.data.map((u) => u.id).sort();
}

/** Users (active and deactivated) of a tenant, as the super-admin counts them. */
export async function countUsers(server: Server, tenantId?: string): Promise<number> {
  const filter: Record<string, unknown> = { withDeactivated: { equalTo: true } };
  if (tenantId) filter.tenantId = { equalTo: tenantId };
  const data = await gqlOk<{ users: { totalCount: number } }>(
    server,
    `query($f: UserFilterArgType) { users(filter: $f, limit: 0) { totalCount } }`,
    { f: filter },
  );
  return data.users.totalCount;
}

export async function countGroups(server: Server, tenantId?: string): Promise<number> {
  const data = await gqlOk<{ userGroups: { totalCount: number } }>(
    server,
    `query($f: UserGroupFilterArgType) { userGroups(filter: $f, limit: 0) { totalCount } }`,
    { f: tenantId ? { tenantId: { equalTo: tenantId } } : {} },
  );
  return data.userGroups.totalCount;
}

/** A token acting as `userId`, from the super-admin, as `@roq/nodejs`'s `asUser` obtains it. */
export async function userToken(server: Server, userId: string): Promise<string> {
  const response = await fetch(`${server.url}/v01/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
    body: JSON.stringify({ userId }),
  });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { accessToken?: unknown };
  assert.equal(typeof body.accessToken, 'string');
  return body.accessToken as string;
}

export { gql, gqlOk, unique };
