import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { isUuid, readDateTime } from '../../services/validate.ts';

/** `node`: the literal refused, so the error has its location and names its argument (see fieldOfLiteral). */
const invalid = (message: string, node?: ValueNode) => new GraphQLError(message, { nodes: node, extensions: { code: 'BAD_USER_INPUT' } });

export const DateScalar = new GraphQLScalarType<Date, string>({
  name: 'Date',
  serialize: (value) => (value instanceof Date ? value : new Date(String(value))).toISOString(),
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => parseDate(ast.kind === Kind.STRING ? ast.value : undefined, ast),
});

/**
 * An ISO-8601 date-time within years 0001-9999 (UTC), a real calendar date: anything else is refused here, naming
 * the argument, instead of reaching PostgreSQL as a value it refuses (`+275760-09-13`) or silently rolling over
 * (`2021-02-29`).
 */
function parseDate(value: unknown, node?: ValueNode): Date {
  const date = readDateTime(value);
  if (date instanceof Date) return date;
  throw invalid(`Date ${date.problem}`, node);
}

export const UUIDScalar = new GraphQLScalarType<string, string>({
  name: 'UUID',
  serialize: (value) => String(value),
  parseValue: (value) => parseUuid(value),
  parseLiteral: (ast) => parseUuid(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseUuid(value: unknown): string {
  // Kept as given: Pluvo reports failed inputs exactly as the caller sent them; services normalise the case.
  if (typeof value === 'string' && isUuid(value)) return value;
  throw invalid('UUID must be a UUID string such as 42103455-1e00-41bf-9714-c70a8c17caf9');
}

export const JsonObjectScalar = new GraphQLScalarType<Record<string, unknown>, Record<string, unknown>>({
  name: 'JsonObject',
  serialize: (value) => value as Record<string, unknown>,
  parseValue: (value) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    throw invalid('JsonObject must be a JSON object');
  },
  parseLiteral: (ast, variables) => {
    if (ast.kind !== Kind.OBJECT) throw invalid('JsonObject must be a JSON object');
    return literalValue(ast, variables) as Record<string, unknown>;
  },
});

function literalValue(ast: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
    case Kind.ENUM:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalValue(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalValue(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
  }
}
