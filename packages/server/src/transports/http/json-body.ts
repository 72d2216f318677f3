import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GraphQLError, Kind, type ASTNode, type ValidationRule } from 'graphql';
import { AppError, Errors } from '../../errors.ts';

/**
 * Keys no JSON input may carry, at any depth: REST bodies, GraphQL requests and their variables, and object
 * literals in GraphQL documents (see `forbiddenKeysRule`). Stored and merged as data they are harmless only as long
 * as every later copy of that data defines properties rather than assigning them (`Object.assign`, `obj[key] =`),
 * which a future change could quietly break; refusing them keeps such keys out of the system altogether. One rule
 * for every transport: a 400 BAD_USER_INPUT naming the key's path.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor']);

export const FORBIDDEN_KEYS_MESSAGE = 'keys named "__proto__" or "constructor" are not accepted';

/** The dotted path (`customData.__proto__`, `userIds.0.constructor`) of the first forbidden key in `value`, if any. */
export function forbiddenKeyPath(value: unknown): string | undefined {
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const current = item.value;
    if (typeof current !== 'object' || current === null) continue;
    const at = (key: string) => (item.path === '' ? key : `${item.path}.${key}`);
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) if (typeof current[i] === 'object' && current[i] !== null) stack.push({ value: current[i], path: at(String(i)) });
      continue;
    }
    // Own keys only: JSON.parse defines `__proto__` as an ordinary own property, never as the prototype.
    const keys = Object.keys(current);
    for (const key of keys) if (FORBIDDEN_KEYS.has(key)) return at(key);
    for (let i = keys.length - 1; i >= 0; i--) {
      const child = (current as Record<string, unknown>)[keys[i]!];
      if (typeof child === 'object' && child !== null) stack.push({ value: child, path: at(keys[i]!) });
    }
  }
  return undefined;
}

/**
 * Text that may hold a forbidden key once parsed: the key itself, or any `\u` escape (which could spell it). Most
 * bodies hold neither, and are not walked at all.
 */
export function mayHoldForbiddenKey(text: string): boolean {
  return text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');
}

/** Refuses parsed JSON carrying a forbidden key, naming it (`prefix.path.to.key`). */
export function refuseForbiddenKeys(value: unknown, prefix = ''): void {
  const path = forbiddenKeyPath(value);
  if (path !== undefined) throw Errors.invalid(prefix === '' ? path : `${prefix}.${path}`, FORBIDDEN_KEYS_MESSAGE);
}

/**
 * The same rule for object literals written in a GraphQL document (`customData: { __proto__: 1 }`, a JsonObject):
 * refused at validation, naming the argument and the key (`user.customData.__proto__`). Input object types have
 * no field of these names, so only JSON literals can carry them.
 */
export const forbiddenKeysRule: ValidationRule = (context) => ({
  ObjectField(node, _key, _parent, _path, ancestors) {
    if (!FORBIDDEN_KEYS.has(node.name.value)) return;
    const names = ancestors.flatMap((a) => {
      if (Array.isArray(a)) return [];
      const n = a as ASTNode;
      if (n.kind === Kind.ARGUMENT || n.kind === Kind.OBJECT_FIELD) return [n.name.value];
      if (n.kind === Kind.VARIABLE_DEFINITION) return [`$${n.variable.name.value}`];
      return [];
    });
    const field = [...names, node.name.value].join('.');
    // Carrying the AppError, it is answered like any refused input: BAD_USER_INPUT, naming the field.
    const error = Errors.invalid(field, FORBIDDEN_KEYS_MESSAGE);
    context.reportError(new GraphQLError(error.message, { nodes: node, originalError: error, extensions: { code: 'BAD_USER_INPUT', field } }));
  },
});

/**
 * Fastify's own JSON parser (same errors for an empty or malformed body), without its prototype-poisoning check,
 * which answered a `__proto__` key as "not valid JSON" and let a `constructor` key through: forbidden keys are
 * refused here instead, by name.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('ignore', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    parse(request, text, (error, value) => {
      if (error) return done(error, undefined);
      if (mayHoldForbiddenKey(text)) {
        try {
          refuseForbiddenKeys(value);
        } catch (e) {
          return done(e as Error, undefined);
        }
      }
      done(null, value);
    });
  });
}

/**
 * Fastify's refusal of a body it has no parser for (form data, XML, a body without any `Content-Type`) as
 * Roster's 415 UNSUPPORTED_MEDIA_TYPE, saying what to send and what came; other errors are returned unchanged.
 */
export function unsupportedMediaTypeOf<E>(error: E, request: FastifyRequest): E | AppError {
  if ((error as { code?: unknown } | null)?.code !== 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return error;
  const header = request.headers['content-type'];
  // Only the media type is echoed, and briefly: the header is the caller's text.
  const mediaType = header?.split(';', 1)[0]?.trim().slice(0, 100).replace(/[^\x20-\x7e]/g, '?');
  const got = header === undefined ? 'no Content-Type' : mediaType ? mediaType : 'an empty Content-Type';
  return new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type: send application/json (got ${got})`, { field: 'Content-Type' });
}
