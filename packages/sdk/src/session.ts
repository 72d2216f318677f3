import type { Credentials } from './credentials.ts';
import { RosterError } from './errors.ts';
import { GraphqlIterators } from './generated/graphql.ts';
import type { GraphqlOperation } from './graphql-operation.ts';
import { createRestClient, type RestClient, type RestResponse } from './rest.ts';
import type { Transport } from './transport.ts';
import type { RequestOptions } from './types.ts';

type Json = Record<string, unknown>;

export interface GraphqlRequestOptions extends RequestOptions {
  /** Which operation of a document with several to run */
  operationName?: string | undefined;
}

/**
 * The API as one caller: every GraphQL root field as a method with the ROQ call shape, the iterators over lists,
 * `graphqlRequest` for any other document, and the REST API under `rest`. Obtained from `RosterClient`.
 */
export class RosterSession extends GraphqlIterators {
  /** The REST API (`/v3/...`), one method per operation of the server's OpenAPI document */
  readonly rest: RestClient;

  constructor(
    private readonly transport: Transport,
    private readonly credentials: Credentials,
  ) {
    super();
    this.rest = createRestClient(async (operation, parts, options): Promise<RestResponse<unknown>> => {
      const response = await this.transport.send({
        method: operation.method,
        path: parts.path,
        query: parts.query,
        body: parts.body,
        idempotent: operation.idempotent,
        ...this.auth(options),
      });
      return {
        data: response.body,
        status: response.status,
        etag: response.headers.get('etag') ?? undefined,
        requestId: response.requestId,
        replayed: response.headers.get('idempotent-replayed') === 'true',
      };
    });
  }

  /**
   * Any GraphQL document, resolving to its `data`. Errors reject as a `RosterError` whose `data` holds what the
   * server returned next to them. Queries are retried like every read; mutations only with an `idempotencyKey`.
   */
  async graphqlRequest<T = Json>(query: string, variables?: Record<string, unknown>, options?: GraphqlRequestOptions): Promise<T> {
    // Only a document that cannot be a mutation is retried without an idempotency key; the word anywhere (even in a
    // fragment or a string) counts, since retrying a write by mistake is worse than not retrying a read.
    const isQuery = !/\b(mutation|subscription)\b/.test(query);
    return (await this.graphql(query, variables, isQuery, options, options?.operationName)) as T;
  }

  protected async runOperation(operation: GraphqlOperation, args: object | undefined, options: RequestOptions | undefined): Promise<never> {
    const variables = this.variablesOf(operation, args);
    return (await this.graphql(operation.document, variables, operation.kind === 'query', options)) as never;
  }

  protected async *iterateOffset(operation: GraphqlOperation, args: object | undefined, options: RequestOptions | undefined): AsyncIterableIterator<never> {
    const { pageSize, rest } = this.pageArgs(operation, args);
    for (let offset = 0; ; ) {
      const data = (await this.runOperation(operation, { ...rest, limit: pageSize, offset }, options)) as Json;
      const page = data[operation.field] as { data: never[]; totalCount: number };
      yield* page.data;
      offset += page.data.length;
      if (page.data.length < pageSize || offset >= page.totalCount) return;
    }
  }

  protected async *iterateCursor(operation: GraphqlOperation, args: object | undefined, options: RequestOptions | undefined): AsyncIterableIterator<never> {
    const { pageSize, rest } = this.pageArgs(operation, args);
    for (let after: string | undefined; ; ) {
      const data = (await this.runOperation(operation, { ...rest, first: pageSize, ...(after ? { after } : {}) }, options)) as Json;
      // Two connection shapes: { edges, pageInfo: { endCursor, hasNextPage } } and { data, endCursor, hasNextPage }.
      const page = data[operation.field] as { edges?: never[]; data?: never[]; pageInfo?: { endCursor: string | null; hasNextPage: boolean }; endCursor?: string | null; hasNextPage?: boolean };
      yield* page.edges ?? page.data ?? [];
      const info = page.pageInfo ?? page;
      after = info.endCursor ?? undefined;
      if (!info.hasNextPage || !after) return;
    }
  }

  private pageArgs(operation: GraphqlOperation, args: object | undefined): { pageSize: number; rest: Json } {
    const { pageSize = 100, ...rest } = (args ?? {}) as Json;
    if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1) {
      throw new RosterError({ code: 'BAD_USER_INPUT', status: 0, field: 'pageSize', message: `${operation.field}: pageSize must be a positive integer` });
    }
    for (const paging of ['limit', 'offset', 'first', 'after']) {
      if (paging in rest) throw new RosterError({ code: 'BAD_USER_INPUT', status: 0, field: paging, message: `${operation.field}: ${paging} is set by the iterator; use pageSize` });
    }
    return { pageSize, rest };
  }

  /** The variables of an operation from its argument object; an unknown key is refused before anything is sent. */
  private variablesOf(operation: GraphqlOperation, args: object | undefined): Json {
    const variables: Json = {};
    for (const [key, value] of Object.entries(args ?? {})) {
      if (!operation.variables.includes(key)) {
        throw new RosterError({
          code: 'BAD_USER_INPUT',
          status: 0,
          field: key,
          message: `${operation.field}: unknown argument ${key} (expected ${operation.variables.join(', ') || 'none'})`,
        });
      }
      if (value !== undefined) variables[key] = value;
    }
    return variables;
  }

  private async graphql(
    query: string,
    variables: Record<string, unknown> | undefined,
    isQuery: boolean,
    options: RequestOptions | undefined,
    operationName?: string,
  ): Promise<unknown> {
    const response = await this.transport.send({
      method: 'POST',
      path: '/graphql',
      body: { query, ...(variables && Object.keys(variables).length > 0 ? { variables } : {}), ...(operationName ? { operationName } : {}) },
      idempotent: isQuery,
      ...this.auth(options),
    });
    const body = response.body as { data?: unknown; errors?: unknown } | undefined;
    if (Array.isArray(body?.errors) && body.errors.length > 0) throw this.transport.errorOf(response, body.data ?? null);
    if (typeof body !== 'object' || body === null || body.data === undefined) {
      throw new RosterError({ code: 'INVALID_RESPONSE', status: response.status, message: 'POST /graphql: the answer has no data', requestId: response.requestId });
    }
    return body.data;
  }

  private auth(options: RequestOptions | undefined) {
    return {
      authorization: () => this.credentials.authorization(options),
      onUnauthorized: () => this.credentials.onUnauthorized(),
      options,
    };
  }
}
