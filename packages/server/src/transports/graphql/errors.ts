import type { FastifyBaseLogger } from 'fastify';
import {
  GraphQLError,
  Kind,
  coerceInputValue,
  getOperationAST,
  isInputType,
  isNonNullType,
  parse,
  typeFromAST,
  visit,
  type DocumentNode,
  type GraphQLSchema,
  type Source,
  type ValueNode,
} from 'graphql';
import { AppError, ErrorCodes, Errors, type ErrorCode } from '../../errors.ts';

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
  /** The request's variables, to name the input of a graphql-jit coercion error (see fieldOfJitVariableError) */
  variables?: unknown,
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
    const field = fieldOfJitVariableError(gqlError.message, variables) ?? fieldOfGraphqlMessage(gqlError.message) ?? fieldOfLiteral(gqlError);
    // graphql-jit words a scalar's refusal `Expected type Date.` only: the scalar's own reason follows it.
    const inner = gqlError.originalError;
    const message =
      inner instanceof GraphQLError && inner.message && !gqlError.message.includes(inner.message) ? `${gqlError.message} ${inner.message}` : gqlError.message;
    return {
      rendered: envelope('BAD_USER_INPUT', message, field ? { field } : {}, where),
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

/** A variable coercion error of graphql-js or graphql-jit: `Variable "$u" got invalid value …`, `… was not provided`. */
export function isVariableCoercionError(error: unknown): boolean {
  return error instanceof GraphQLError && /^Variable "\$\w+" (?:got invalid value|of required type|of non-null type)/.test(error.message);
}

/** At most this many problems are reported for one request's variables. */
const MAX_VARIABLE_PROBLEMS = 20;

/**
 * The problems of a request's variables, each as a BAD_USER_INPUT naming the input by its path in the variables:
 * `u.email: required field of type "String!" was not provided`, `u.active: Boolean cannot represent a non boolean
 * value: "yes"`, `u.colour: unknown field "colour" (not defined by type "UserCreateDto")`, `u: required variable of
 * type "UserCreateDto!" was not provided`. graphql-js and graphql-jit (Mercurius runs a query compiled after its
 * first use) word these differently and name the path only in part, so the variables are coerced again here, by
 * graphql-js, which reports the path of each problem. Empty when the document is not at hand or the variables pass.
 */
export function variableProblems(schema: GraphQLSchema, query: unknown, operationName: unknown, variables: unknown): GraphQLError[] {
  if (typeof query !== 'string') return [];
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch {
    return [];
  }
  const operation = getOperationAST(document, typeof operationName === 'string' ? operationName : undefined);
  if (!operation) return [];
  const inputs = (typeof variables === 'object' && variables !== null && !Array.isArray(variables) ? variables : {}) as Record<string, unknown>;
  const problems: GraphQLError[] = [];
  const STOP = Symbol('enough problems');
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type);
    if (!type || !isInputType(type)) continue;
    const report = (field: string, message: string) => {
      const error = Errors.invalid(field, message);
      problems.push(new GraphQLError(error.message, { nodes: definition, originalError: error }));
      if (problems.length >= MAX_VARIABLE_PROBLEMS) throw STOP;
    };
    try {
      if (!Object.hasOwn(inputs, name)) {
        if (!definition.defaultValue && isNonNullType(type)) report(name, `required variable of type "${String(type)}" was not provided`);
        continue;
      }
      const value = inputs[name];
      if (value === null && isNonNullType(type)) {
        report(name, `must not be null (type "${String(type)}")`);
        continue;
      }
      coerceInputValue(value, type, (path, _invalid, error) => {
        const at = name + path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
        const missing = /^Field "([^"]+)" of required type "([^"]+)" was not provided\.$/.exec(error.message);
        if (missing) return report(`${at}.${missing[1]}`, `required field of type "${missing[2]}" was not provided`);
        const unknown = /^Field "([^"]+)" is not defined by type "([^"]+)"\.(.*)$/s.exec(error.message);
        if (unknown) return report(`${at}.${unknown[1]}`, `unknown field ${JSON.stringify(unknown[1])} (not defined by type "${unknown[2]}")${unknown[3]}`);
        const nonNull = /^Expected non-nullable type "([^"]+)" not to be null\.$/.exec(error.message);
        if (nonNull) return report(at, `must not be null (type "${nonNull[1]}")`);
        return report(at, error.message);
      });
    } catch (e) {
      if (e === STOP) break;
      throw e;
    }
  }
  return problems;
}

const VALUE_KINDS = new Set<string>([Kind.STRING, Kind.INT, Kind.FLOAT, Kind.BOOLEAN, Kind.NULL, Kind.ENUM, Kind.LIST, Kind.OBJECT]);

/**
 * graphql-jit (Mercurius compiles a query after its first run) names only the innermost input field in a variable's
 * coercion error: `Variable "$moreThan" got invalid value "+275760-09-13"; Expected type Date.` for
 * `$filter: { createdAt: { moreThan: … } }`. The full path is where the variables hold that key with that value,
 * when exactly one place does; otherwise fieldOfGraphqlMessage's answer stands.
 */
export function fieldOfJitVariableError(message: string, variables: unknown): string | undefined {
  const m = /^Variable "\$(\w+)" got invalid value (.*?); Expected type /s.exec(message);
  if (!m || typeof variables !== 'object' || variables === null || Array.isArray(variables)) return undefined;
  const [, name, printed] = m as unknown as [string, string, string];
  if (Object.hasOwn(variables, name)) return undefined;
  const printedAs = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? printed : String(v));
  const found: string[] = [];
  const stack: [unknown, string, number][] = Object.entries(variables).map(([k, v]) => [v, k, 1]);
  // Bounded: variables may be large and deep; a value not found simply keeps the short name.
  for (let visited = 0; stack.length > 0 && visited < 10_000 && found.length < 2; visited++) {
    const [value, path, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null || depth > 32) continue;
    const list = Array.isArray(value);
    for (const [key, child] of Object.entries(value)) {
      const childPath = list ? `${path}[${key}]` : `${path}.${key}`;
      if (!list && key === name && printedAs(child) === printed) found.push(childPath);
      stack.push([child, childPath, depth + 1]);
    }
  }
  // Unique only if every place was looked at.
  return found.length === 1 && stack.length === 0 ? found[0] : undefined;
}

/** Documents re-read to name literal arguments, by source: one parse however many literals of it were refused. */
const parsedSources = new WeakMap<Source, DocumentNode | null>();

/**
 * The argument a refused literal value is (part of), as a field: `users(filter: { createdAt: { moreThan:
 * "+275760-09-13" } })` → `filter.createdAt.moreThan`. The message says only `Expected value of type "Date", found
 * …` (or the scalar's own words); the error's node is the value, whose place in the document gives the path.
 */
export function fieldOfLiteral(error: GraphQLError): string | undefined {
  const node = error.nodes?.[0];
  const target = node && VALUE_KINDS.has(node.kind) ? node.loc : undefined;
  if (!target) return undefined;
  let document = parsedSources.get(target.source);
  if (document === undefined) {
    try {
      document = parse(target.source);
    } catch {
      document = null;
    }
    parsedSources.set(target.source, document);
  }
  if (!document) return undefined;
  const within = (v: { loc?: { start: number; end: number } | undefined }) => !!v.loc && v.loc.start <= target.start && target.end <= v.loc.end;
  const pathIn = (value: ValueNode, prefix: string): string | undefined => {
    if (value.loc?.start === target.start) return prefix;
    if (value.kind === Kind.OBJECT) {
      const f = value.fields.find((x) => within(x.value));
      return f ? pathIn(f.value, `${prefix}.${f.name.value}`) : undefined;
    }
    if (value.kind === Kind.LIST) {
      const i = value.values.findIndex((x) => within(x));
      return i >= 0 ? pathIn(value.values[i]!, `${prefix}[${i}]`) : undefined;
    }
    return undefined;
  };
  let field: string | undefined;
  visit(document, {
    Argument(node) {
      if (field !== undefined || !within(node.value)) return undefined;
      field = pathIn(node.value, node.name.value);
      return false;
    },
  });
  return field;
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
