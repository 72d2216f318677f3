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
  const pg = asPgError(e);
  return pg?.code !== undefined && (RETRYABLE_SQLSTATES.has(pg.code) || extra.includes(pg.code));
}

/**
 * Maps database errors to the error catalog, in one place. Constraint violations that the services could not
 * rule out beforehand (a concurrent insert of the same reference, a user deleted mid-call) become client errors.
 */
export function mapDatabaseError(e: unknown): unknown {
  if (e instanceof AppError) return e;
  const pg = asPgError(e);
  if (!pg?.code) return e;
  switch (pg.code) {
    case '23505': {
      const known = pg.constraint ? uniqueConstraints[pg.constraint] : undefined;
      return known ? Errors.conflict(known[0], known[1], undefined) : new AppError('CONFLICT', 'The record already exists');
    }
    case '23503':
      return new AppError('NOT_FOUND', 'A referenced record does not exist (it may have been deleted meanwhile)');
    case '22P02':
    case '22007':
    case '22008':
    case '22001':
    case '22003':
    case '22021':
    case '54000':
      return new AppError('BAD_USER_INPUT', 'A value is malformed or out of range');
    default:
      return e;
  }
}
