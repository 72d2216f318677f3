import type { FastifyBaseLogger } from 'fastify';
import { GraphQLError } from 'graphql';
import { AppError, ErrorCodes, type ErrorCode } from '../../errors.ts';

export interface RenderedError {
  message: string;
  locations?: readonly { line: number; column: number }[];
  path?: readonly (string | number)[];
  extensions: Record<string, unknown>;
}

/**
 * The ROQ error envelope: `extensions.code` plus `extensions.response = { statusCode, errorCode, message }`,
 * which `@roq/nodejs` turns into its HttpException. Unexpected errors are masked and logged with the request id.
 */
export function renderError(
  error: unknown,
  log: FastifyBaseLogger,
  requestId: string,
  phase: 'request' | 'execution' = 'execution',
): { rendered: RenderedError; status: number; code: ErrorCode } {
  const gqlError = error instanceof GraphQLError ? error : undefined;
  const original = gqlError?.originalError ?? (gqlError ? undefined : error);
  const where = gqlError ? { locations: gqlError.locations, path: gqlError.path } : {};

  if (original instanceof AppError) {
    return { rendered: envelope(original.code, original.message, original.details, where), status: original.status, code: original.code };
  }
  const carrier = (original ?? error) as { statusCode?: unknown; message?: string };
  if (carrier.statusCode === 413) {
    return { rendered: envelope('PAYLOAD_TOO_LARGE', carrier.message ?? 'Request body too large', {}, {}), status: 413, code: 'PAYLOAD_TOO_LARGE' };
  }
  // Parse and validation errors, bad variables, depth limit: the request itself is wrong.
  const graphqlCode = gqlError?.extensions?.code;
  // Before execution (parse, validation, variable coercion, depth limit) every error is the request's fault.
  // A GraphQLError of its own, outside any field (no path), is about the operation: e.g. a subscription, which
  // this schema does not serve.
  const operationError = gqlError !== undefined && gqlError.originalError == null && gqlError.path === undefined;
  if (gqlError && (phase === 'request' || operationError || graphqlCode === 'BAD_USER_INPUT' || isMercuriusClientError(original))) {
    const field = fieldOfGraphqlMessage(gqlError.message);
    return {
      rendered: envelope('BAD_USER_INPUT', gqlError.message, field ? { field } : {}, where),
      status: 400,
      code: 'BAD_USER_INPUT',
    };
  }
  if (!gqlError && isMercuriusClientError(original)) {
    return { rendered: envelope('BAD_USER_INPUT', (original as Error).message, {}, {}), status: 400, code: 'BAD_USER_INPUT' };
  }
  log.error({ err: original ?? error, requestId }, 'unexpected error in GraphQL execution');
  return {
    rendered: envelope('INTERNAL_SERVER_ERROR', `Internal error; quote request id ${requestId}`, {}, where),
    status: 500,
    code: 'INTERNAL_SERVER_ERROR',
  };
}

/**
 * The input a graphql-js coercion or validation message is about, so clients get `extensions.field` for these as
 * for our own errors: `Variable "$u" got invalid value … at "u.email"` → `u.email`; `Variable "$groupId" got
 * invalid value …` → `groupId`; `Variable "$id" of required type … was not provided` → `id`; `Field "email" of
 * required type … was not provided` → `email`; `Argument "groupId" …` → `groupId`.
 */
export function fieldOfGraphqlMessage(message: string): string | undefined {
  const variable = /^Variable "\$(\w+)" (?:got invalid value .*? at "([\w.[\]]+)";|got invalid value|of required type)/.exec(message);
  if (variable) {
    if (variable[2]) return variable[2];
    const missing = /; Field "(\w+)" of required type .* was not provided/.exec(message);
    return missing ? `${variable[1]}.${missing[1]}` : variable[1];
  }
  const named = /^(?:Field|Argument) "(\w+)"/.exec(message);
  return named?.[1];
}

function isMercuriusClientError(e: unknown): boolean {
  // Mercurius's own request errors (query depth, malformed body, CSRF) carry MER_ERR_GQL_* codes.
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^MER_ERR_(GQL_(QUERY_DEPTH|VALIDATION|CSRF_PREVENTION|PERSISTED_QUERY_NOT_FOUND|PERSISTED_QUERY_NOT_SUPPORTED)|METHOD_NOT_ALLOWED|INVALID_METHOD)$/.test(code)) return true;
  const status = (e as { statusCode?: number } | undefined)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function envelope(
  code: ErrorCode,
  message: string,
  details: Record<string, unknown>,
  where: { locations?: readonly { line: number; column: number }[] | undefined; path?: readonly (string | number)[] | undefined },
): RenderedError {
  const statusCode = ErrorCodes[code];
  const rendered: RenderedError = {
    message,
    extensions: { code, ...details, response: { statusCode, errorCode: code, message } },
  };
  if (where.locations) rendered.locations = where.locations;
  if (where.path) rendered.path = where.path;
  return rendered;
}
