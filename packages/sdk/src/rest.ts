import { RosterError } from './errors.ts';
import type { operations } from './generated/openapi.ts';
import { restOperations } from './generated/rest.ts';
import type { RestOperation } from './rest-operation.ts';
import type { RequestOptions, Simplify } from './types.ts';

export type RestOperationId = keyof typeof restOperations;
type Op<K extends RestOperationId> = operations[K];

type PathOf<O> = O extends { parameters: { path: infer P } } ? (P extends object ? P : unknown) : unknown;
type QueryOf<O> = O extends { parameters: { query: infer Q } }
  ? Q extends object ? { query: Q } : unknown
  : O extends { parameters: { query?: infer Q } }
    ? [NonNullable<Q>] extends [never] ? unknown : { query?: NonNullable<Q> | undefined }
    : unknown;
type BodyOf<O> = O extends { requestBody: { content: { 'application/json': infer B } } }
  ? Record<never, never> extends B ? { body?: B | undefined } : { body: B }
  : O extends { requestBody?: infer R }
    ? [NonNullable<R>] extends [never] ? unknown : NonNullable<R> extends { content: { 'application/json': infer B } } ? { body?: B | undefined } : unknown
    : unknown;

/** The argument of a REST method: its path parameters by name, and `query` and `body` where it has them */
export type RestInput<K extends RestOperationId> = Simplify<PathOf<Op<K>> & QueryOf<Op<K>> & BodyOf<Op<K>>>;
/** The 200 answer of a REST method */
export type RestOutput<K extends RestOperationId> = Op<K> extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R : undefined;

/** What a REST call answered besides its body: the ETag to send back as `ifMatch`, the request id */
export interface RestResponse<T> {
  data: T;
  status: number;
  etag: string | undefined;
  requestId: string | undefined;
  /** True when the server replayed the stored answer of an earlier request with the same `idempotencyKey` */
  replayed: boolean;
}

/** The arguments of a REST method: the input may be left out when nothing in it is required */
type RestArgs<K extends RestOperationId> = Record<never, never> extends RestInput<K>
  ? [input?: RestInput<K>, options?: RequestOptions]
  : [input: RestInput<K>, options?: RequestOptions];
type Method<K extends RestOperationId> = (...args: RestArgs<K>) => Promise<RestOutput<K>>;

type Pagination<K extends RestOperationId> = (typeof restOperations)[K]['pagination'];
/** The REST operations that return a list by pages */
export type RestListId = { [K in RestOperationId]: Pagination<K> extends { items: string } ? K : never }[RestOperationId];
type ItemsKey<K extends RestListId> = Pagination<K> extends { items: infer I extends string } ? I : never;
/** One item of a REST list */
export type RestItem<K extends RestListId> = RestOutput<K> extends { [P in ItemsKey<K>]: ReadonlyArray<infer T> } ? T : never;
/** A REST list's argument without its paging, which the iterator does: `pageSize` items per request */
export type RestListInput<K extends RestListId> = Simplify<
  PathOf<Op<K>> &
    (Pagination<K> extends { kind: 'offset' }
      ? BodyOf<Op<K>> extends { body?: infer B } ? { body?: Omit<NonNullable<B>, 'pagination'> | undefined } : unknown
      : QueryOf<Op<K>> extends { query?: infer Q } ? { query?: Omit<NonNullable<Q>, 'after' | 'limit'> | undefined } : unknown) & { pageSize?: number | undefined }
>;

/** The REST API, one method per OpenAPI operation, plus the raw call and a list iterator. */
export type RestClient = { [K in RestOperationId]: Method<K> } & {
  /** Any operation, answering with the ETag, the request id and whether it was an idempotent replay */
  call<K extends RestOperationId>(operationId: K, ...args: RestArgs<K>): Promise<RestResponse<RestOutput<K>>>;
  /** Every item of a list operation, fetched `pageSize` (default 100) at a time */
  paginate<K extends RestListId>(operationId: K, input: RestListInput<K>, options?: RequestOptions): AsyncIterableIterator<RestItem<K>>;
};

export type RestSend = (operation: RestOperation, request: RestRequestParts, options: RequestOptions | undefined) => Promise<RestResponse<unknown>>;
export interface RestRequestParts {
  path: string;
  query: Record<string, unknown> | undefined;
  body: unknown;
}

const invalid = (operationId: string, field: string, message: string) =>
  new RosterError({ code: 'BAD_USER_INPUT', status: 0, field, message: `${operationId}: ${field} ${message}` });

/** The request of an operation from its input, refusing what it cannot send before sending anything. */
export function restRequest(operationId: string, operation: RestOperation, input: object | undefined): RestRequestParts {
  const values = (input ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(values)) {
    const known = operation.pathParams.includes(key) || (key === 'query' && operation.queryParams.length > 0) || (key === 'body' && operation.body);
    if (!known) throw invalid(operationId, key, 'is not an argument of this operation');
  }
  const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (typeof value !== 'string' || value.length === 0) throw invalid(operationId, name, 'is required (a path parameter)');
    return encodeURIComponent(value);
  });
  const query = values.query as Record<string, unknown> | undefined;
  return { path, query, body: operation.body ? (values.body ?? {}) : undefined };
}

export function createRestClient(send: RestSend): RestClient {
  const call = async (operationId: RestOperationId, input: object | undefined, options?: RequestOptions) => {
    const operation = restOperations[operationId] as RestOperation | undefined;
    if (!operation) throw invalid(String(operationId), 'operationId', 'is not an operation of the REST API');
    return send(operation, restRequest(operationId, operation, input), options);
  };
  const client: Record<string, unknown> = {
    call,
    paginate: (operationId: RestListId, input: Record<string, unknown>, options?: RequestOptions) => paginate(call, operationId, input, options),
  };
  for (const operationId of Object.keys(restOperations) as RestOperationId[]) {
    client[operationId] = async (input: object | undefined, options?: RequestOptions) => (await call(operationId, input, options)).data;
  }
  return client as RestClient;
}

async function* paginate(
  call: (operationId: RestOperationId, input: object, options?: RequestOptions) => Promise<RestResponse<unknown>>,
  operationId: RestListId,
  input: Record<string, unknown>,
  options: RequestOptions | undefined,
): AsyncIterableIterator<never> {
  const pagination = restOperations[operationId].pagination as RestOperation['pagination'];
  if (!pagination) throw invalid(operationId, 'operationId', 'is not a list');
  const { pageSize = 100, ...rest } = input;
  if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1) throw invalid(operationId, 'pageSize', 'must be a positive integer');
  let offset = 0;
  let after: string | undefined;
  for (;;) {
    const pageInput =
      pagination.kind === 'offset'
        ? { ...rest, body: { ...(rest.body as object | undefined), pagination: { offset, limit: pageSize } } }
        : { ...rest, query: { ...(rest.query as object | undefined), limit: pageSize, ...(after ? { after } : {}) } };
    const { data } = await call(operationId, pageInput, options);
    const page = data as Record<string, unknown> & { pagination?: { totalNumResults?: number; nextCursor?: string | null; hasNextPage?: boolean } };
    const items = (page[pagination.items] ?? []) as never[];
    yield* items;
    if (pagination.kind === 'offset') {
      offset += items.length;
      const total = page.pagination?.totalNumResults;
      if (items.length < pageSize || (typeof total === 'number' && offset >= total)) return;
    } else {
      after = page.pagination?.nextCursor ?? undefined;
      if (!page.pagination?.hasNextPage || !after) return;
    }
  }
}
