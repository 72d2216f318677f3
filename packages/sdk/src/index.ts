export { RosterClient, type AsUserOptions, type RosterClientOptions } from './client.ts';
export { RosterSession, type GraphqlRequestOptions } from './session.ts';
export { RosterError, isRosterError, type RosterErrorDetail } from './errors.ts';
export type { RequestOptions, JsonObject, JsonValue } from './types.ts';
export type { TransportOptions } from './transport.ts';
export type { RestClient, RestInput, RestOutput, RestItem, RestListId, RestListInput, RestOperationId, RestResponse } from './rest.ts';
export { graphqlOperations } from './generated/graphql.ts';
export type * from './generated/graphql.ts';
export type { components as RestSchemas, operations as RestOperations } from './generated/openapi.ts';
