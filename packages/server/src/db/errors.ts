import { AppError, Errors } from '../errors.ts';

interface PgLikeError {
  code?: string;
  constraint?: string;
  message?: string;
}

const asPgError = (e: unknown): PgLikeError | undefined =>
  typeof e === 'object' && e !== null && typeof (e as PgLikeError).code === 'string' ? (e as PgLikeError) : undefined;

/** Unique constraints by name → the entity and the API field they protect. */
const uniqueConstraints: Record<string, [entity: string, field: string]> = {
  users__reference: ['user', 'reference'],
  users__email: ['user', 'email'],
  user_groups__reference: ['user group', 'reference'],
  tenants__reference: ['tenant', 'reference'],
  roles__key: ['role', 'key'],
};

/** SQLSTATEs after which the whole transaction may simply be tried again. */
export const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

/** A foreign key that broke because a referenced row was deleted by a concurrent transaction. */
export const FOREIGN_KEY_VIOLATION = '23503';

export function isRetryable(e: unknown, extra: readonly string[] = []): boolean {
  // A mapped error keeps the database's error as its cause: a retry loop around `run()` still sees a deadlock.
  const pg = asPgError(e instanceof AppError ? e.cause : e);
  return pg?.code !== undefined && (RETRYABLE_SQLSTATES.has(pg.code) || extra.includes(pg.code));
}

/** Network failures of the database connection itself (node-postgres reports them with the system error code). */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

const unavailable = (message: string) => new AppError('SERVICE_UNAVAILABLE', `${message}; retry shortly`);

/**
 * The catalog error of a SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html), by code, then
 * by class; undefined: our own fault (class 42 syntax or undefined column, XX internal, ...), masked as a 500.
 */
function mapSqlState(code: string, constraint: string | undefined): AppError | undefined {
  switch (code) {
    case '23505': {
      const known = constraint ? uniqueConstraints[constraint] : undefined;
      return known ? Errors.conflict(known[0], known[1], undefined) : new AppError('CONFLICT', 'The record already exists');
    }
    case '23503':
      return new AppError('NOT_FOUND', 'A referenced record does not exist (it may have been deleted meanwhile)');
    case '57014': // query_canceled: statement_timeout (or a cancel request)
      return new AppError(
        'STATEMENT_TIMEOUT',
        'The request took longer than the server allows (statement timeout); narrow it (filters, page size) or retry',
      );
    case '55P03': // lock_not_available (lock_timeout, NOWAIT)
      return unavailable('A record is locked by a concurrent request');
  }
  switch (code.slice(0, 2)) {
    case '22': // data exception: a value malformed or out of range (a date, a number, an encoding, a pattern)
      return new AppError('BAD_USER_INPUT', 'A value is malformed or out of range', { sqlstate: code });
    case '54': // program limit exceeded: statement too complex, too many columns or arguments
      return new AppError('BAD_USER_INPUT', 'The request is too large or too complex for the database; make it smaller', { sqlstate: code });
    case '08': // connection exception
      return unavailable('The database connection failed');
    case '53': // insufficient resources: out of memory, disk full, too many connections
      return unavailable('The database is short of resources (memory, disk or connections)');
    case '57': // operator intervention: admin or crash shutdown, cannot connect now, idle session timeout
      return unavailable('The database is restarting or unavailable');
    case '40': // serialization failure or deadlock, after the retries of `retrying()`
      return unavailable('The request conflicted with concurrent ones more often than it is retried');
  }
  return CONNECTION_ERRNOS.has(code) ? unavailable('The database is unreachable') : undefined;
}

/**
 * Maps database errors to the error catalog, in one place. Constraint violations that the services could not
 * rule out beforehand (a concurrent insert of the same reference, a user deleted mid-call) become client errors;
 * values the database refuses (class 22) are 400s; transient failures of the database are 503s. The mapped error
 * keeps the database's error as its `cause`.
 */
export function mapDatabaseError(e: unknown): unknown {
  if (e instanceof AppError) return e;
  const pg = asPgError(e);
  if (!pg?.code) return e;
  const mapped = mapSqlState(pg.code, pg.constraint);
  if (!mapped) return e;
  Object.defineProperty(mapped, 'cause', { value: e, enumerable: false, configurable: true, writable: true });
  return mapped;
}
