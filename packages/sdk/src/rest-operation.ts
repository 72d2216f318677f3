/** A generated REST operation: how to build its request, and how its lists page. */
export interface RestOperation {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly pathParams: readonly string[];
  readonly queryParams: readonly string[];
  readonly body: boolean;
  /** A read, or a write that can be repeated with the same effect: safe to retry */
  readonly idempotent: boolean;
  /** `offset`: `body.pagination = { offset, limit }`; `cursor`: `query.after`; `items` names the array */
  readonly pagination: { readonly kind: 'offset' | 'cursor'; readonly items: string } | undefined;
}
