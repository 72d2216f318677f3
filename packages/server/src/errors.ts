/**
 * The closed catalog of errors Roster reports. Codes are API: never rename one.
 * Every transport renders an AppError its own way; anything else is an unexpected failure, masked.
 */
export const ErrorCodes = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** The path exists, but not with this method: the answer's `Allow` header lists the methods it has. */
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  /** A request body that is not JSON (`Content-Type` other than application/json, or none). */
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_SERVER_ERROR: 500,
  /** The database is unreachable, restarting, out of resources, or a row is locked: transient, retry shortly. */
  SERVICE_UNAVAILABLE: 503,
  /** The request ran into the statement timeout: narrow it (filters, page size) or retry. */
  STATEMENT_TIMEOUT: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface ErrorDetails {
  /** The input field the error is about, as the caller named it (e.g. `user.email`). */
  readonly field?: string;
  readonly [key: string]: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = ErrorCodes[code];
    this.details = details;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

/**
 * A start-up failure the operator can fix (a port already in use, a privileged port): reported on one line,
 * without a stack trace, with exit code 2, like a configuration error.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export const Errors = {
  invalid: (field: string, message: string, extra: Record<string, unknown> = {}) =>
    new AppError('BAD_USER_INPUT', `${field}: ${message}`, { field, ...extra }),
  notFound: (entity: string, field: string, value: string) =>
    new AppError('NOT_FOUND', `${entity} not found (${field} = ${JSON.stringify(value)})`, { field, value }),
  conflict: (entity: string, field: string, value: unknown) =>
    new AppError('CONFLICT', `A ${entity} with this ${field} already exists in the tenant`, { field, value }),
  /** Optimistic concurrency: the caller's copy is stale; the message and details name the current version. */
  staleVersion: (entity: string, field: string, expected: number, current: number) =>
    new AppError('CONFLICT', `${field}: ${entity} is at version ${current}, not ${expected}; read it again and retry`, {
      field,
      expectedVersion: expected,
      currentVersion: current,
    }),
  unauthenticated: (message = 'Missing or invalid credentials') => new AppError('UNAUTHENTICATED', message),
  forbidden: (message = 'Not allowed') => new AppError('FORBIDDEN', message),
  /** `what` for the message; `field`, the input field refused (when the refusal is about one) */
  unmodifiable: (what: string, field?: string) =>
    new AppError('FORBIDDEN', `This user group is a platform group (isUnmodifiable); its ${what} cannot change`, field ? { field } : {}),
};
