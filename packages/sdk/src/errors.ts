/** One failure reported by the server (or by the client before it sent anything) */
export interface RosterErrorDetail {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** GraphQL: where in the result the error occurred */
  readonly path?: readonly (string | number)[];
  /** Further facts the server gave, e.g. `currentVersion` on a stale-version CONFLICT */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface RosterErrorInit extends RosterErrorDetail {
  readonly status: number;
  readonly requestId?: string;
  readonly errors?: readonly RosterErrorDetail[];
  readonly data?: unknown;
  readonly retryAfterSeconds?: number;
  readonly cause?: unknown;
}

/**
 * Every failure of a call: the server's stable machine `code` (`BAD_USER_INPUT`, `NOT_FOUND`, `CONFLICT`,
 * `RATE_LIMITED`, `SERVICE_UNAVAILABLE` and `STATEMENT_TIMEOUT` (both 503), ...), the HTTP `status`, the `field` the
 * message names, and the server's request id to quote.
 * Failures without an answer have `status` 0 and the code `TIMEOUT`, `ABORTED` or `NETWORK_ERROR`.
 */
export class RosterError extends Error {
  override readonly name = 'RosterError';
  readonly code: string;
  readonly status: number;
  readonly field: string | undefined;
  readonly requestId: string | undefined;
  /** Further facts of the first error, e.g. `currentVersion` on a stale-version CONFLICT */
  readonly details: Readonly<Record<string, unknown>>;
  /** Every error of the answer; `code`, `message` and `field` are those of the first */
  readonly errors: readonly RosterErrorDetail[];
  /** GraphQL: what the server did return next to the errors (a document with several fields may partly succeed) */
  readonly data: unknown;
  /** From `Retry-After` on 429 and 503 answers */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: RosterErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.field = init.field;
    this.requestId = init.requestId;
    this.details = init.details ?? {};
    this.errors = init.errors ?? [{ code: init.code, message: init.message, ...(init.field ? { field: init.field } : {}) }];
    this.data = init.data;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

export const isRosterError = (e: unknown): e is RosterError => e instanceof RosterError;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The errors of an answer body in any of the server's three envelopes: GraphQL (`errors[].extensions.code`), REST
 * (`errorMessages[].errorCode`, `debugIdentifier`) and the ROQ envelope (`errorCode`, `message`).
 */
export function errorsOfBody(body: unknown): { errors: RosterErrorDetail[]; requestId?: string; status?: number } {
  if (!isObject(body)) return { errors: [] };
  if (Array.isArray(body.errors)) {
    let status: number | undefined;
    const errors = body.errors.filter(isObject).map((e): RosterErrorDetail => {
      const ext = isObject(e.extensions) ? e.extensions : {};
      const response = isObject(ext.response) ? ext.response : {};
      status ??= typeof response.statusCode === 'number' ? response.statusCode : undefined;
      const field = str(ext.field);
      const path = Array.isArray(e.path) ? (e.path.filter((p) => typeof p === 'string' || typeof p === 'number') as (string | number)[]) : undefined;
      const { code: _code, field: _field, response: _response, ...rest } = ext;
      return {
        code: str(ext.code) ?? 'INTERNAL_SERVER_ERROR',
        message: str(e.message) ?? 'GraphQL error',
        ...(field ? { field } : {}),
        ...(path ? { path } : {}),
        ...(Object.keys(rest).length > 0 ? { details: rest } : {}),
      };
    });
    return { errors, ...(status === undefined ? {} : { status }) };
  }
  if (Array.isArray(body.errorMessages)) {
    const errors = body.errorMessages.filter(isObject).map((e): RosterErrorDetail => {
      const parameters = Array.isArray(e.errorParameters) ? e.errorParameters.filter(isObject) : [];
      const field = str(parameters.find((p) => p.name === 'field')?.value);
      const details = Object.fromEntries(parameters.filter((p) => p.name !== 'field' && typeof p.name === 'string').map((p) => [p.name as string, parseParameter(p.value)]));
      return {
        code: str(e.errorCode) ?? 'INTERNAL_SERVER_ERROR',
        message: str(e.message) ?? 'Error',
        ...(field ? { field } : {}),
        ...(Object.keys(details).length > 0 ? { details } : {}),
      };
    });
    const requestId = str(body.debugIdentifier);
    return { errors, ...(requestId ? { requestId } : {}) };
  }
  const code = str(body.errorCode) ?? str(body.code);
  if (code) {
    const field = str(body.field);
    return { errors: [{ code, message: str(body.message) ?? code, ...(field ? { field } : {}) }] };
  }
  return { errors: [] };
}

/** REST error parameters are strings; numbers and JSON values were stringified by the server */
function parseParameter(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const CODE_OF_STATUS: Record<number, string> = {
  400: 'BAD_USER_INPUT', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE', 422: 'UNPROCESSABLE_ENTITY', 429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};
/** The code of an answer without a recognisable error body */
export const codeOfStatus = (status: number): string => CODE_OF_STATUS[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'HTTP_ERROR');
