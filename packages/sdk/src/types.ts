/** Types shared by the generated methods and the client. Compile-time only. */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object, as `customData` and the audit log's `changes` hold */
export type JsonObject = { [key: string]: JsonValue };

/** The argument object of a call without arguments or flags */
export type NoArgs = Record<never, never>;

/** Flattens an intersection so editors show the resulting object */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The property `Field` (of type `V`) when the arguments `F` set the flag `Flag`: present when the flag is `true`,
 * absent when it is `false` or not given, optional when it is only known to be a `boolean`.
 */
export type Gate<F, Flag extends string, Field extends string, V> = Flag extends keyof F
  ? F[Flag] extends true
    ? { [P in Field]: V }
    : F[Flag] extends false | undefined
      ? unknown
      : { [P in Field]?: V }
  : unknown;

/**
 * `A` with every property that `T` does not have turned into `never`, at any depth, so an argument object with a
 * misspelt key fails to compile even where TypeScript would not check excess properties (generic arguments).
 */
export type Exact<A, T> = A extends readonly (infer E)[]
  ? T extends readonly (infer TE)[]
    ? readonly Exact<E, TE>[]
    : T
  : A extends object
    ? T extends object
      ? { [K in keyof A]: K extends keyof T ? Exact<A[K], NonNullable<T[K]>> : never }
      : T
    : A;

/** Per-call options, accepted as the last argument of every method */
export interface RequestOptions {
  /** Aborts the call (and its retries) */
  signal?: AbortSignal | undefined;
  /** Milliseconds for each attempt before it fails with `TIMEOUT`; overrides the client's `timeoutMs` */
  timeoutMs?: number | undefined;
  /** Attempts after the first for a retryable failure; overrides the client's `retries` */
  retries?: number | undefined;
  /**
   * Sent as `Idempotency-Key`: the server applies a write once per key and replays its answer to a retry, which
   * also makes the call safe for the client to retry.
   */
  idempotencyKey?: string | undefined;
  /** Sent as `If-Match` (REST): the write applies only if the resource is still at this ETag */
  ifMatch?: string | undefined;
  /** Extra request headers */
  headers?: Record<string, string> | undefined;
}
