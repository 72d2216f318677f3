/**
 * The request generator of test/fuzz.test.ts. It derives requests from the GraphQL schema (every Query and
 * Mutation field, with generated arguments and selections) and from the OpenAPI document (every path and method,
 * with path parameters and bodies generated from their JSON schemas), then breaks a share of them: wrong types,
 * missing required fields, unknown fields, nulls, huge strings and arrays, hostile unicode, injection strings,
 * invalid UUIDs, deep nesting, malformed JSON, wrong content types, broken credentials, and ids of another tenant.
 *
 * Everything is drawn from one seeded PRNG and never from server answers, so a seed always yields the same
 * sequence of requests (the ids in them are those of the fixture of that run).
 */
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';

// ---------------------------------------------------------------------------------------------------------------
// Seeded PRNG (sfc32)

export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(values: readonly T[]): T {
    if (values.length === 0) throw new Error('pick from an empty list');
    return values[Math.floor(this.next() * values.length)]!;
  }

  /** One of the values, with probability proportional to its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [w, value] of choices) {
      if ((r -= w) < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }

  hex(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += '0123456789abcdef'[this.int(0, 15)];
    return out;
  }

  uuid(version = 4): string {
    const variant = '89ab'[this.int(0, 3)];
    return `${this.hex(8)}-${this.hex(4)}-${version}${this.hex(3)}-${variant}${this.hex(3)}-${this.hex(12)}`;
  }
}

/** A seed from an environment value: a number, or any text (hashed). */
export function parseSeed(value: string): number {
  if (/^\d+$/.test(value)) return Number(BigInt(value) % 4294967296n);
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests and fixture

/** Who sends a request: the super-admin key, user tokens of tenant B, or broken or missing credentials. */
export type Actor = 'superAdmin' | 'bAdmin' | 'bManager' | 'bPlain' | 'anonymous';
export type Kind = 'user' | 'group' | 'role' | 'tenant';
export type Scope = 'a' | 'b' | 'c' | 'def' | 'platform';
export type TextScope = 'a' | 'b' | 'c';

export interface FuzzRequest {
  readonly seq: number;
  readonly source: 'graphql' | 'rest' | 'http';
  /** What was generated, for statistics and reports: `graphql mutation createUser`, `rest PATCH updateUserGroup`. */
  readonly label: string;
  /** The breakages applied, for reports. */
  readonly broken: readonly string[];
  readonly actor: Actor;
  readonly method: string;
  /** Path and query string. */
  readonly path: string;
  /**
   * Every header, credentials included. Values may hold placeholders the runner fills in: `{{apiKey}}`,
   * `{{token:<actor>}}`, `{{token:<actor>:tampered}}`.
   */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array<ArrayBuffer>;
  /** May change data if it succeeds: the runner sends it alone, with a checksum after it. */
  readonly writes: boolean;
  /** GraphQL: the response keys of the root fields, to tell a rejected document from a partly executed one. */
  readonly rootKeys?: readonly string[];
}

export interface TextPool {
  readonly userRefs: readonly string[];
  readonly groupRefs: readonly string[];
  readonly emails: readonly string[];
  readonly names: readonly string[];
  readonly roleKeys: readonly string[];
}

export interface FuzzFixture {
  /** Ids by owner: tenant A (the one that must not leak), B (the user tokens' tenant), C, the default tenant, platform. */
  readonly ids: Readonly<Record<Scope, Readonly<Record<Kind, readonly string[]>>>>;
  /** Texts (references, emails, names, role keys) by tenant. */
  readonly text: Readonly<Record<TextScope, TextPool>>;
  /** The token holders and the groups their permissions come from: never the target of a write. */
  readonly protectedIds: readonly string[];
  /** Protected texts (the token holders' references and emails). */
  readonly protectedText: readonly string[];
  /** The group bManager manages: the one write target bManager may use despite its protection. */
  readonly managedGroupId: string;
  readonly platformRoleKeys: readonly string[];
  readonly limits: { readonly bodyBytes: number; readonly batchMax: number; readonly queryDepth: number; readonly queryFields: number };
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile values

const INVALID_UUIDS: readonly string[] = [
  '',
  ' ',
  'nope',
  'null',
  'undefined',
  '0',
  '-1',
  '00000000-0000-0000-0000-00000000000g',
  '00000000-0000-0000-0000-0000000000000',
  '00000000-0000-0000-0000-00000000000',
  '00000000000000000000000000000000',
  '{00000000-0000-4000-8000-000000000000}',
  'urn:uuid:00000000-0000-4000-8000-000000000000',
  ' 00000000-0000-4000-8000-000000000000',
  '00000000-0000-4000-8000-000000000000 ',
  '00000000-0000-4000-8000-000000000000\u0000',
  '00000000-0000-4000-8000-00000000000٣',
  'ffffffff-ffff-ffff-ffff-fffffffffffff',
  "00000000-0000-4000-8000-000000000000' OR '1'='1",
  '../../etc/passwd',
  '%00',
  '\u202e00000000-0000-4000-8000-000000000000',
];

const SPECIAL_UUIDS: readonly string[] = [
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '00000000-0000-7000-8000-000000000001',
  '00000000-0000-7000-8000-000000000099',
];

const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '\t\n\r',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\udbff\udfff',
  '\u202eevil\u202c',
  '\u200f\u200e\u061c',
  '\u200b\u200c\u200d\ufeff',
  'مرحبا بالعالم',
  'שלום',
  '👩‍👩‍👧‍👦🏳️‍🌈🇺🇳',
  '😀'.repeat(130),
  'e\u0301\u0302\u0303\u0304',
  'Z̸̢̛͍͙̤͉̹̝̹͎̍̑̐̇̑͐̌̈́a̶l̷g̵o̶',
  `a${'\u0301'.repeat(300)}`,
  'İıſ ß ﬁ ǅ Å Å',
  '\uffff\ufffe\ufffd',
  '\u2028\u2029',
  '\u0085\u00a0\u3000',
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '"; DROP TABLE user_groups; --',
  "1' UNION SELECT id, email FROM users --",
  "') OR 1=1 --",
  '%',
  '%%',
  '_',
  '\\',
  '\\%\\_',
  '$1',
  '::uuid',
  "E'\\x00'",
  'NULL',
  '{"$ne": null}',
  '{"a":1}',
  '"}',
  '\\"',
  '__proto__',
  'constructor',
  'prototype',
  '") { users { data { id email } } } #',
  '$id',
  '... on UserModel { email }',
  '{ __schema { types { name } } }',
  '#',
  '${7*7}',
  '{{7*7}}',
  '%s%s%s%n',
  '../../../../etc/passwd',
  '%2e%2e%2f',
  'javascript:alert(1)',
  '<script>alert(1)</script>',
  '\r\n\r\nHTTP/1.1 200 OK',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '9'.repeat(40),
  'true',
  '[]',
  'a'.repeat(255),
  'b'.repeat(256),
  'c'.repeat(1001),
];

const JSON_KEYS: readonly string[] = ['a', 'name', 'x y', '', 'émoji😀', '__proto__', 'constructor', '$where', '0', 'nested', 'n\u0000ul', '\ud800'];
const LOCALES: readonly string[] = ['en-US', 'de', 'fr-CA', 'zh-Hant-TW', 'en_US', 'xx-INVALID-1234567890', 'EN-us', 'i-klingon'];
const TIMEZONES: readonly string[] = ['Europe/Berlin', 'UTC', 'America/Argentina/Buenos_Aires', 'Mars/Olympus', 'Etc/GMT+5', '../UTC'];
const PHONES: readonly string[] = ['+49 30 1234567', '+1 (555) 010-0199', '123', 'abc', '+'];
const URLS: readonly string[] = ['https://example.test/a.png', 'http://x', 'javascript:alert(1)', 'ftp://x/y', 'not a url', ''];
const GROUP_TYPES: readonly string[] = ['default', 'platform', 'team', 'department'];
const PERMISSIONS: readonly string[] = ['ACCESS_MANAGEMENT', 'USER_MANAGEMENT', 'COMPANY_MANAGEMENT', 'USER_PROFILE', 'REPORT_MANAGEMENT', 'PLATFORM_MANAGEMENT', 'NOPE'];
const ACTIONS: readonly string[] = ['ALL', 'CREATE', 'READ', 'WRITE', 'DELETE', 'PURGE', 'FLY'];
const CONTENT_TYPES: readonly string[] = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'application/xml',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/graphql',
  '*/*',
  'application/octet-stream',
  'json',
];

// A JWT signed with another secret, one with alg none, and other credentials that must all be refused.
const FORGED_JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0aWQiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDAiLCJraW5kIjoic3VwZXJBZG1pbiIsImlzcyI6InJvc3RlciIsInN1YiI6InNlcnZpY2UtYWNjb3VudCIsImV4cCI6NDEwMjQ0NDgwMH0.c2lnbmF0dXJlLW9mLWFub3RoZXIta2V5LTAxMjM0NTY3ODk';
const NONE_JWT = 'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJraW5kIjoic3VwZXJBZG1pbiIsImlzcyI6InJvc3RlciIsInN1YiI6InNlcnZpY2UtYWNjb3VudCJ9.';
const BROKEN_CREDENTIALS: readonly Record<string, string>[] = [
  {},
  { authorization: 'Bearer' },
  { authorization: 'Bearer ' },
  { authorization: 'Bearer nope' },
  { authorization: 'Basic dXNlcjpwYXNzd29yZA==' },
  { authorization: `Bearer ${'k'.repeat(6000)}` },
  { authorization: 'Bearer a.b.c' },
  { authorization: 'Bearer a.b.c.d' },
  { authorization: `Bearer ${FORGED_JWT}` },
  { authorization: `Bearer ${NONE_JWT}` },
  { authorization: 'Bearer test-super-admin-key-012345678' },
  { authorization: 'Bearer {{token:bPlain:tampered}}' },
  { authorization: 'Bearer {{token:bAdmin:tampered}}' },
  { authorization: 'Bearer x, Bearer y' },
  { 'roq-platform-server-authorization': 'Basic ZW52Ondyb25nLWtleQ==' },
  { 'roq-platform-server-authorization': 'Basic !!!' },
  { 'roq-platform-server-authorization': 'Basic ' },
  { 'roq-platform-server-authorization': 'Bearer x' },
  { 'roq-platform-authorization': 'Bearer junk' },
];

// ---------------------------------------------------------------------------------------------------------------
// Generated values: plain JSON plus enum literals and raw text for what JSON values cannot express

class EnumLit {
  constructor(readonly name: string) {}
}
/** Pre-rendered text: deep nesting (which recursive serializers cannot write) and numbers JSON has no value for. */
class Raw {
  constructor(
    readonly json: string,
    readonly gql: string,
  ) {}
}
type Val = null | boolean | number | string | EnumLit | Raw | Val[] | { [key: string]: Val };

const NAME_RE = /^[_A-Za-z][_0-9A-Za-z]*$/;

function gqlLiteral(v: Val, block = false): string {
  if (v === null) return 'null';
  if (v instanceof EnumLit) return v.name;
  if (v instanceof Raw) return v.gql;
  if (typeof v === 'string') return block && !v.includes('"""') && !v.includes('\\') ? `"""${v}"""` : JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => gqlLiteral(x)).join(', ')}]`;
  const entries = Object.entries(v).map(([k, x], i) => `${NAME_RE.test(k) ? k : `k${i}`}: ${gqlLiteral(x)}`);
  return `{${entries.join(', ')}}`;
}

function jsonText(v: Val): string {
  if (v instanceof Raw) return v.json;
  if (v instanceof EnumLit) return JSON.stringify(v.name);
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** Like encodeURIComponent, but lone surrogates become U+FFFD instead of throwing. */
function percentEncode(s: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** An object with the given entries, `__proto__` included as an ordinary key. */
function objectOf(entries: readonly (readonly [string, Val])[]): { [key: string]: Val } {
  const out: { [key: string]: Val } = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

function isPlainObject(v: Val): v is { [key: string]: Val } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof EnumLit) && !(v instanceof Raw);
}

// ---------------------------------------------------------------------------------------------------------------
// OpenAPI

interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

interface RestOperation {
  readonly method: string;
  readonly path: string;
  readonly operationId: string;
  readonly pathParams: readonly string[];
  readonly queryParams: readonly { name: string; schema: JsonSchema; required: boolean }[];
  readonly body: JsonSchema | undefined;
  readonly reads: boolean;
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, { operationId?: string; parameters?: { in: string; name: string; required?: boolean; schema?: JsonSchema }[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

function restOperations(doc: OpenApiDocument): RestOperation[] {
  const out: RestOperation[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const parameters = op.parameters ?? [];
      const operationId = op.operationId ?? `${method} ${path}`;
      out.push({
        method: method.toUpperCase(),
        path,
        operationId,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: parameters.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {}, required: !!p.required })),
        body: op.requestBody?.content?.['application/json']?.schema,
        // Reads are GETs and the POSTs that only list (`list…`, `get…`): they must never change data.
        reads: method === 'get' || /^(list|get)/.test(operationId),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The generator

interface Ctx {
  readonly actor: Actor;
  readonly writes: boolean;
  /** Probability that any one value is broken. */
  readonly chaos: number;
  /** At most one huge value per request. */
  huge: boolean;
  readonly broken: string[];
  /** Most ids of a request come from one tenant, so that they fit together (a group and its company, its users). */
  scope?: Scope;
}

export interface GeneratorOptions {
  readonly seed: number;
  readonly fixture: FuzzFixture;
  readonly schemaSdl: string;
  readonly openapi: unknown;
}

export class FuzzGenerator {
  readonly rng: Rng;
  readonly #fx: FuzzFixture;
  readonly #schema: GraphQLSchema;
  readonly #queries: GraphQLField<unknown, unknown>[];
  readonly #mutations: GraphQLField<unknown, unknown>[];
  readonly #ops: RestOperation[];
  readonly #components: Record<string, JsonSchema>;
  #seq = 0;

  constructor(options: GeneratorOptions) {
    this.rng = new Rng(options.seed);
    this.#fx = options.fixture;
    this.#schema = buildSchema(options.schemaSdl);
    this.#queries = Object.values(this.#schema.getQueryType()?.getFields() ?? {});
    this.#mutations = Object.values(this.#schema.getMutationType()?.getFields() ?? {});
    const doc = options.openapi as OpenApiDocument;
    this.#ops = restOperations(doc);
    this.#components = doc.components?.schemas ?? {};
    if (this.#queries.length === 0 || this.#mutations.length === 0) throw new Error('the GraphQL schema has no queries or mutations');
    if (this.#ops.length === 0) throw new Error('the OpenAPI document has no operations');
  }

  /** What the generator draws from: for the report. */
  get coverage(): { queries: string[]; mutations: string[]; operations: string[] } {
    return {
      queries: this.#queries.map((f) => f.name),
      mutations: this.#mutations.map((f) => f.name),
      operations: this.#ops.map((o) => `${o.method} ${o.operationId}`),
    };
  }

  next(): FuzzRequest {
    this.#seq++;
    const actor = this.rng.weighted<Actor>([
      [40, 'superAdmin'],
      [20, 'bAdmin'],
      [12, 'bManager'],
      [18, 'bPlain'],
      [10, 'anonymous'],
    ]);
    return this.rng.weighted<() => FuzzRequest>([
      [50, () => this.#graphql(actor)],
      [42, () => this.#rest(actor)],
      [8, () => this.#http(actor)],
    ])();
  }

  // ----- shared pieces ---------------------------------------------------------------------------------------

  #chaos(): number {
    return this.rng.weighted([
      [30, 0],
      [30, 0.04],
      [25, 0.15],
      [15, 0.4],
    ]);
  }

  #ctx(actor: Actor, writes: boolean): Ctx {
    const ctx: Ctx = { actor, writes, chaos: this.#chaos(), huge: false, broken: [] };
    if (this.rng.bool(0.6)) ctx.scope = this.#scope(ctx, 'group');
    return ctx;
  }

  #credentials(actor: Actor): Record<string, string> {
    const r = this.rng;
    switch (actor) {
      case 'superAdmin':
        // The SDK's way now and then: the key in roq-platform-server-authorization, no bearer.
        return r.bool(0.1) ? { 'roq-platform-server-authorization': 'Basic {{basicApiKey}}' } : { authorization: 'Bearer {{apiKey}}' };
      case 'anonymous':
        return { ...r.pick(BROKEN_CREDENTIALS) };
      default:
        return r.bool(0.1) ? { 'roq-platform-authorization': `Bearer {{token:${actor}}}` } : { authorization: `Bearer {{token:${actor}}}` };
    }
  }

  /** Extra headers: idempotency keys, preconditions, request ids. */
  #extraHeaders(ctx: Ctx): Record<string, string> {
    const r = this.rng;
    const out: Record<string, string> = {};
    if (ctx.writes && r.bool(0.12)) out['idempotency-key'] = r.pick(['fuzz-key-1', 'fuzz-key-2', 'fuzz-key-3', `fuzz-${r.hex(12)}`, '', ' ', 'k'.repeat(300)]);
    if (ctx.writes && r.bool(0.06)) out['if-match'] = r.pick(['"1"', 'W/"2"', '*', '"999999"', 'garbage', '1', '""']);
    if (r.bool(0.04)) out['x-request-id'] = r.pick(['fuzz-1', 'has space', 'x'.repeat(200), '../etc', '<script>', '']);
    return out;
  }

  /** A tenant's scope for an id, as the actor and lane allow: the super-admin never writes with tenant A's ids. */
  #scope(ctx: Ctx, kind: Kind): Scope {
    const r = this.rng;
    if (ctx.scope && r.bool(0.85)) return kind === 'role' && r.bool(0.4) ? 'platform' : ctx.scope;
    if (ctx.actor === 'superAdmin') {
      const choices: [number, Scope][] = [
        [40, 'b'],
        [35, 'c'],
        [8, 'def'],
      ];
      if (!ctx.writes) choices.push([25, 'a']);
      if (kind === 'role') choices.push([25, 'platform']);
      return r.weighted(choices);
    }
    const choices: [number, Scope][] = [
      [50, 'b'],
      [35, 'a'],
      [8, 'c'],
      [4, 'def'],
    ];
    if (kind === 'role') choices.push([20, 'platform']);
    return r.weighted(choices);
  }

  #textScope(ctx: Ctx): TextScope {
    if (ctx.actor === 'superAdmin') return this.rng.bool(0.5) ? 'b' : 'c';
    return this.rng.weighted<TextScope>([
      [55, 'b'],
      [35, 'a'],
      [10, 'c'],
    ]);
  }

  #allowed(ctx: Ctx, values: readonly string[], protectedValues: readonly string[]): readonly string[] {
    if (!ctx.writes) return values;
    return values.filter((v) => !protectedValues.includes(v) || (ctx.actor === 'bManager' && v === this.#fx.managedGroupId));
  }

  /** An id for an argument or field about `kind` (or anything): mostly a real one, of the right or another tenant. */
  #id(kind: Kind | undefined, ctx: Ctx): string {
    const r = this.rng;
    const roll = r.next();
    if (roll < 0.07) return r.uuid(r.bool() ? 4 : 7);
    if (roll < 0.1) return r.pick(SPECIAL_UUIDS);
    const k: Kind = kind && r.bool(0.85) ? kind : r.pick<Kind>(['user', 'group', 'role', 'tenant']);
    const scope = this.#scope(ctx, k);
    const pool = this.#allowed(ctx, this.#fx.ids[scope][k], this.#fx.protectedIds);
    if (pool.length === 0) return r.uuid();
    const id = r.pick(pool);
    return r.bool(0.08) ? id.toUpperCase() : id;
  }

  #kindOf(hint: string, field: string): Kind | undefined {
    const h = hint.toLowerCase();
    const f = field.toLowerCase();
    const of = (s: string): Kind | undefined =>
      s.includes('group') ? 'group'
      : s.includes('role') ? 'role'
      : s.includes('tenant') || s.includes('company') ? 'tenant'
      : s.includes('user') ? 'user'
      : undefined;
    if (h === 'id' || h === 'ids') return of(f);
    return of(h) ?? (h.endsWith('id') || h.endsWith('ids') ? undefined : of(f));
  }

  #fresh(prefix: string): string {
    return `${prefix}-${this.#seq}-${this.rng.hex(6)}`;
  }

  #nasty(ctx: Ctx): string {
    const r = this.rng;
    if (!ctx.huge && r.bool(0.03)) return this.#huge(ctx);
    const s = r.pick(NASTY_STRINGS);
    ctx.broken.push('nasty string');
    return r.bool(0.2) ? `${this.#fresh('n')}${s}` : s;
  }

  /** A huge string: just over the string limits, or up to about the body limit. */
  #huge(ctx: Ctx): string {
    const r = this.rng;
    ctx.huge = true;
    const limit = this.#fx.limits.bodyBytes;
    const size = r.weighted([
      [30, 256],
      [25, r.int(1000, 70_000)],
      [15, Math.floor(limit / 2)],
      [15, limit - r.int(500, 4000)],
      [15, limit + r.int(1, 4000)],
    ]);
    ctx.broken.push(`huge string (${size})`);
    const unit = r.pick(['x', 'é', '😀', '\u0301', "'", '%', '\\']);
    return unit.repeat(Math.max(1, Math.floor(size / Buffer.byteLength(JSON.stringify(unit).slice(1, -1)))));
  }

  #deep(ctx: Ctx): Raw {
    const r = this.rng;
    const depth = r.weighted([
      [40, r.int(20, 200)],
      [35, r.int(1000, 6000)],
      [25, r.int(10_000, 60_000)],
    ]);
    ctx.broken.push(`deep nesting (${depth})`);
    if (r.bool()) return new Raw(`${'['.repeat(depth)}1${']'.repeat(depth)}`, `${'['.repeat(depth)}1${']'.repeat(depth)}`);
    return new Raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`);
  }

  #string(hint: string, field: string, ctx: Ctx): string {
    const r = this.rng;
    if (r.bool(ctx.chaos * 0.6)) return this.#nasty(ctx);
    const h = hint.toLowerCase();
    const text = this.#fx.text[this.#textScope(ctx)];
    const from = (values: readonly string[], fresh: () => string): string => {
      const pool = this.#allowed(ctx, values, this.#fx.protectedText);
      return pool.length > 0 && r.bool(0.55) ? r.pick(pool) : fresh();
    };
    if (h.includes('email')) return from(text.emails, () => `${this.#fresh('fz')}@example.test`);
    if (h === 'groupref' || (h.includes('reference') && field.toLowerCase().includes('group'))) return from(text.groupRefs, () => this.#fresh('gref'));
    if (h === 'ref' || h === 'userrefs' || h.includes('reference')) return from(text.userRefs, () => this.#fresh('uref'));
    if (h === 'key' || h.startsWith('rolekey')) return from([...text.roleKeys, ...this.#fx.platformRoleKeys], () => this.#fresh('key'));
    if (h === 'locale') return r.pick(LOCALES);
    if (h === 'timezone') return r.pick(TIMEZONES);
    if (h === 'phone') return r.pick(PHONES);
    if (h === 'avatarurl') return r.pick(URLS);
    if (h === 'type') return r.pick(GROUP_TYPES);
    if (h === 'permission') return r.pick(PERMISSIONS);
    if (h === 'actions') return r.pick(ACTIONS);
    if (h === 'like' || h === 'ilike') {
      const base = r.pick([...text.names, ...text.userRefs, 'a', '']);
      return r.pick([`%${base.slice(0, 5)}%`, `${base.slice(0, 3)}%`, '%', '_%', '%\\%%', base]);
    }
    if (h === 'after') return r.pick(['', 'abc', 'eyJ0IjoiMjAyNCJ9', Buffer.from(JSON.stringify({ t: 'x', id: r.uuid() })).toString('base64url'), '!!!']);
    if (h === 'search' || h === 'value' || h === 'searchtext') return r.pick([...text.names, ...text.userRefs, 'a', 'e', '']).slice(0, r.int(0, 8));
    if (h === 'name' || h === 'firstname' || h === 'lastname' || h === 'description') return from(text.names, () => this.#fresh(r.pick(['Ann', 'Bo', 'Team', 'Grp'])));
    if (h === 'iso8601') return this.#date();
    return from(text.names, () => this.#fresh('s'));
  }

  #date(): string {
    const r = this.rng;
    return r.weighted([
      [60, new Date(Date.UTC(2020, 0, 1) + r.int(0, 10 * 365) * 86_400_000).toISOString()],
      [10, '2024-02-30T00:00:00Z'],
      [10, 'yesterday'],
      [5, ''],
      [5, '0000-01-01T00:00:00Z'],
      [5, '+275760-09-13T00:00:00.000Z'],
      [5, '2024-01-01'],
    ]);
  }

  #int(hint: string): number {
    const r = this.rng;
    const h = hint.toLowerCase();
    if (h === 'limit') return r.pick([0, 1, 2, 5, 10, 50, 100, 1000]);
    if (h === 'offset') return r.pick([0, 0, 1, 3, 10, 100, 100_000]);
    if (h === 'first') return r.pick([1, 2, 10, 100, 1000]);
    if (h.includes('version')) return r.pick([1, 1, 2, 3, 50]);
    return r.int(0, 10);
  }

  #brokenInt(ctx: Ctx): Val {
    ctx.broken.push('bad number');
    return this.rng.pick<Val>([-1, -2147483648, 2147483647, 2147483648, -2147483649, 1.5, 1e20, new Raw('9007199254740993', '9007199254740993'), new Raw('1e400', '1e400'), new Raw('-0', '-0'), '10', '']);
  }

  /** A JSON object; now and then one that is valid but nested thousands deep (custom data, scopes). */
  #json(depth: number, ctx?: Ctx): { [key: string]: Val } {
    const r = this.rng;
    const n = r.int(0, depth > 2 ? 1 : 4);
    const entries: [string, Val][] = [];
    if (ctx && !ctx.huge && r.bool(0.05)) {
      ctx.huge = true;
      entries.push(['deep', this.#deep(ctx)]);
    }
    for (let i = 0; i < n; i++) {
      const key = r.pick(JSON_KEYS);
      const value: Val = r.weighted<() => Val>([
        [4, () => r.pick(['v', '', 'ümlaut', '😀', 'a\u202eb'])],
        [2, () => r.pick<Val>([0, -1, 1.5, 1e308, new Raw('9007199254740993', '9007199254740993')])],
        [1, () => r.bool()],
        [1, () => null],
        [1, () => [1, 'two', null]],
        [2, () => this.#json(depth + 1)],
      ])();
      entries.push([key, value]);
    }
    return objectOf(entries);
  }

  // ----- GraphQL ---------------------------------------------------------------------------------------------

  #input(type: GraphQLInputType, hint: string, field: string, ctx: Ctx): Val {
    if (this.rng.bool(ctx.chaos)) return this.#brokenInput(type, hint, field, ctx);
    if (isNonNullType(type)) return this.#inputOf(type.ofType, hint, field, ctx);
    if (this.rng.bool(0.05)) return null;
    return this.#inputOf(type, hint, field, ctx);
  }

  #inputOf(type: GraphQLInputType, hint: string, field: string, ctx: Ctx): Val {
    const r = this.rng;
    if (isNonNullType(type)) return this.#inputOf(type.ofType, hint, field, ctx);
    if (isListType(type)) {
      const n = r.weighted([
        [10, 0],
        [40, 1],
        [30, 2],
        [20, r.int(3, 6)],
      ]);
      return Array.from({ length: n }, () => this.#input(type.ofType, hint, field, ctx));
    }
    if (isEnumType(type)) return new EnumLit(r.pick(type.getValues()).name);
    if (isInputObjectType(type)) {
      const fields = Object.values(type.getFields());
      // Operator objects (`{ equalTo, valueIn, ... }`) keep the hint of the filter key they belong to.
      const operators = fields.some((f) => f.name === 'equalTo');
      const isFilter = type.name.endsWith('FilterArgType') && !operators;
      const entries: [string, Val][] = [];
      for (const f of fields) {
        const required = isNonNullType(f.type);
        if (!required && !r.bool(isFilter ? 0.15 : operators ? 0.35 : 0.5)) continue;
        entries.push([f.name, this.#input(f.type, operators ? hint : f.name, field, ctx)]);
      }
      return objectOf(entries);
    }
    if (isScalarType(type)) return this.#scalar(type.name, hint, field, ctx);
    return null;
  }

  #scalar(scalar: string, hint: string, field: string, ctx: Ctx): Val {
    const r = this.rng;
    switch (scalar) {
      case 'ID':
      case 'UUID':
        return this.#id(this.#kindOf(hint, field), ctx);
      case 'Int':
        return this.#int(hint);
      case 'Float':
        return r.next() * 100;
      case 'Boolean':
        return r.bool();
      case 'Date':
        return this.#date();
      case 'JsonObject':
        return this.#json(0, ctx);
      case 'String':
        return this.#string(hint, field, ctx);
      default:
        return r.bool() ? this.#string(hint, field, ctx) : r.int(0, 10);
    }
  }

  #brokenInput(type: GraphQLInputType, hint: string, field: string, ctx: Ctx): Val {
    const r = this.rng;
    const named = getNamedType(type);
    const list = isListType(isNonNullType(type) ? type.ofType : type);
    const idLike = isScalarType(named) && (named.name === 'ID' || named.name === 'UUID');
    const numeric = isScalarType(named) && (named.name === 'Int' || named.name === 'Float');
    const object = isInputObjectType(named) && !list;
    const choices: [number, () => Val][] = [
      [3, () => (ctx.broken.push('null'), null)],
      [4, () => (ctx.broken.push('wrong type'), r.pick<Val>([123, -1, 1.5, true, 'str', [], [1, 2], objectOf([['a', 1]]), new EnumLit('NOPE')]))],
      [3, () => this.#nasty(ctx)],
      [1, () => this.#deep(ctx)],
    ];
    if (!ctx.huge) choices.push([1, () => this.#huge(ctx)]);
    if (idLike) choices.push([5, () => (ctx.broken.push('invalid uuid'), r.pick(INVALID_UUIDS))]);
    if (numeric) choices.push([5, () => this.#brokenInt(ctx)]);
    if (list && !ctx.huge) choices.push([2, () => this.#hugeList(hint, field, ctx)]);
    if (object && isInputObjectType(named)) {
      choices.push([4, () => this.#withUnknownField(this.#inputOf(named, hint, field, ctx), ctx)]);
      const required = Object.values(named.getFields()).filter((f) => isNonNullType(f.type));
      if (required.length > 0) {
        choices.push([
          4,
          () => {
            const full = this.#inputOf(named, hint, field, ctx);
            const drop = r.pick(required).name;
            ctx.broken.push(`missing ${drop}`);
            return isPlainObject(full) ? objectOf(Object.entries(full).filter(([k]) => k !== drop)) : full;
          },
        ]);
      }
    }
    return r.weighted(choices)();
  }

  #withUnknownField(v: Val, ctx: Ctx): Val {
    const key = this.rng.pick(['nope', '__proto__', 'constructor', 'tenantId', 'id', 'isSuperAdmin', 'version']);
    ctx.broken.push(`unknown field ${key}`);
    if (!isPlainObject(v)) return objectOf([[key, 1]]);
    return objectOf([...Object.entries(v), [key, this.rng.pick<Val>([1, 'x', null, true, this.rng.uuid()])]]);
  }

  #hugeList(hint: string, field: string, ctx: Ctx): Val {
    const r = this.rng;
    ctx.huge = true;
    const n = r.weighted([
      [30, this.#fx.limits.batchMax + 1],
      [30, r.int(1001, 5000)],
      [20, r.int(10_001, 20_000)],
      [20, r.int(30_000, 55_000)],
    ]);
    ctx.broken.push(`huge array (${n})`);
    // Mostly copies of one valid-ish id (so the size, not the content, is what is tested), sometimes fresh uuids.
    const kind = this.#kindOf(hint, field);
    const one = kind ? this.#id(kind, ctx) : 'x';
    if (r.bool(0.3)) return Array.from({ length: n }, () => r.uuid());
    return Array.from({ length: n }, () => one);
  }

  #graphql(actor: Actor): FuzzRequest {
    const r = this.rng;
    const mutation = r.bool(0.45);
    const ctx = this.#ctx(actor, mutation);
    const fields = mutation ? this.#mutations : this.#queries;
    const vars = new Variables();
    const roots = r.bool(0.12) ? r.int(2, 3) : 1;
    const selections: string[] = [];
    const rootKeys: string[] = [];
    const picked: string[] = [];
    const maxDepth = r.weighted([
      [70, 2],
      [20, 3],
      [7, 5],
      [3, this.#fx.limits.queryDepth + 3],
    ]);
    for (let i = 0; i < roots; i++) {
      const field = r.pick(fields);
      const alias = roots > 1 || r.bool(0.05) ? `r${i}` : undefined;
      rootKeys.push(alias ?? field.name);
      picked.push(field.name);
      const args = this.#arguments(field.args, field.name, ctx, vars);
      const selection = this.#selection(field.type, ctx, 1, maxDepth, vars, mutation);
      selections.push(`${alias ? `${alias}: ` : ''}${field.name}${args}${selection}`);
    }
    const declarations = vars.declarations(r, ctx);
    const named = r.bool(0.4);
    const head =
      mutation ? `mutation${named ? ` Fuzz${this.#seq}` : ''}${declarations}`
      : named || declarations || r.bool(0.5) ? `query${named ? ` Fuzz${this.#seq}` : ''}${declarations}`
      : '';
    let document = `${head}${head ? ' ' : ''}{ ${selections.join(' ')} }`;
    let variables: string | undefined = vars.json(r, ctx);
    let operationName: string | undefined = named && r.bool(0.5) ? `Fuzz${this.#seq}` : undefined;

    // Document-level breakage; some kinds replace the document (and the label says so).
    let replaced: string | undefined;
    if (r.bool(0.05 + ctx.chaos * 0.5)) {
      const kind = r.pick(['truncate', 'garbage', 'two operations', 'fragments', 'directives', 'too many fields', 'too deep', 'unknown field', 'subscription', 'introspection', 'operationName', 'variables']);
      ctx.broken.push(`document: ${kind}`);
      switch (kind) {
        case 'truncate':
          document = document.slice(0, r.int(0, Math.max(0, document.length - 1)));
          break;
        case 'garbage': {
          const at = r.int(0, document.length);
          document = `${document.slice(0, at)}${r.pick(['{', '}', '$', '"', '\u0000', '#', '😀', '(', ')', '!', '...', '@', '\\u'])}${document.slice(at)}`;
          break;
        }
        case 'two operations':
          document = `${document}\n${document.replace(/Fuzz\d+/, 'Other')}`;
          break;
        case 'fragments':
          document += r.pick([
            '\nfragment A on UserModel { ...B } fragment B on UserModel { ...A }',
            '\nfragment Unused on UserModel { id }',
            '\nfragment W on Nope { id }',
          ]);
          break;
        case 'directives':
          document = document.replace('{ ', r.pick(['{ __typename @skip(if: $undefinedVariable) ', '{ __typename @include(if: "yes") ', '{ __typename @nope ', '{ __typename @deprecated ']));
          break;
        case 'too many fields':
          replaced = kind;
          document = `{ ${Array.from({ length: this.#fx.limits.queryFields + r.int(1, 200) }, (_, i) => `f${i}: __typename`).join(' ')} }`;
          variables = undefined;
          break;
        case 'too deep':
          replaced = kind;
          document = this.#tooDeep();
          variables = undefined;
          break;
        case 'unknown field':
          document = document.replace('{ ', r.pick(['{ nope ', '{ users { nope } ', '{ __schema { nope } ']));
          break;
        case 'subscription':
          replaced = kind;
          document = 'subscription { users { totalCount } }';
          variables = undefined;
          break;
        case 'introspection':
          replaced = kind;
          document = r.pick([
            '{ __schema { queryType { name } mutationType { name } types { name kind fields { name args { name type { name kind ofType { name } } } } } } }',
            '{ __type(name: "UserModel") { name fields { name } } }',
            '{ __typename }',
          ]);
          variables = undefined;
          break;
        case 'operationName':
          operationName = r.pick(['Nope', '', 'Fuzz', `Fuzz${this.#seq}x`]);
          break;
        case 'variables':
          variables = r.pick(['[1]', '"x"', '5', 'null', '{"__proto__":{"polluted":1}}', '{"unused":1}', jsonText(this.#id('user', ctx))]);
          break;
      }
    }

    const label = replaced ? `graphql document ${replaced}` : `graphql ${mutation ? 'mutation' : 'query'} ${picked.join('+')}`;
    const writes = mutation || /mutation/i.test(document);
    return this.#graphqlTransport(ctx, label, document, variables, operationName, writes, rootKeys);
  }

  #tooDeep(): string {
    // Each level adds four to the depth: userGroups, data, users, data.
    const levels = Math.ceil(this.#fx.limits.queryDepth / 4) + this.rng.int(0, 3);
    let inner = 'id';
    for (let i = 0; i < levels; i++) inner = `userGroups(limit: 1) { data { users(limit: 1) { data { ${inner} } } } }`;
    return `{ users(limit: 1) { data { ${inner} } } }`;
  }

  /** How the GraphQL request travels: JSON POST mostly, else GET, application/graphql, odd paths and bodies. */
  #graphqlTransport(ctx: Ctx, label: string, document: string, variables: string | undefined, operationName: string | undefined, writes: boolean, rootKeys: string[]): FuzzRequest {
    const r = this.rng;
    const path = r.weighted([
      [90, '/graphql'],
      [7, '/v01/server/graphql'],
      [3, '/graphql/'],
    ]);
    const headers: Record<string, string> = { ...this.#credentials(ctx.actor), ...this.#extraHeaders(ctx) };
    const transport = r.weighted([
      [82, 'json'],
      [6, 'get'],
      [4, 'application/graphql'],
      [8, 'broken body'],
    ]);
    const base = { seq: this.#seq, source: 'graphql' as const, label, actor: ctx.actor, writes, rootKeys };
    if (transport === 'get' && document.length < 6000) {
      const params = new URLSearchParams({ query: document });
      if (variables !== undefined) params.set('variables', variables);
      if (operationName !== undefined) params.set('operationName', operationName);
      ctx.broken.push('GET');
      return { ...base, broken: ctx.broken, method: 'GET', path: `${path}?${params.toString()}`, headers };
    }
    if (transport === 'application/graphql') {
      ctx.broken.push('application/graphql');
      return { ...base, broken: ctx.broken, method: 'POST', path, headers: { ...headers, 'content-type': 'application/graphql' }, body: document };
    }
    let body = `{"query":${JSON.stringify(document)}${variables !== undefined ? `,"variables":${variables}` : ''}${operationName !== undefined ? `,"operationName":${JSON.stringify(operationName)}` : ''}}`;
    headers['content-type'] = 'application/json';
    if (transport === 'broken body') {
      const broken = this.#breakBody(body, ctx, document);
      return { ...base, broken: ctx.broken, method: 'POST', path, headers: { ...headers, ...broken.headers }, body: broken.body };
    }
    if (!ctx.huge && r.bool(0.01)) {
      // Padding up to, or just over, the body limit.
      ctx.huge = true;
      const limit = this.#fx.limits.bodyBytes;
      const target = r.bool() ? limit - r.int(10, 2000) : limit + r.int(1, 2000);
      ctx.broken.push(`padded body (${target})`);
      body = `{"query":${JSON.stringify(`${document}\n#${'p'.repeat(Math.max(0, target - body.length - 20))}`)}${variables !== undefined ? `,"variables":${variables}` : ''}}`;
    }
    return { ...base, broken: ctx.broken, method: 'POST', path, headers, body };
  }

  /** Breaks a JSON body, or sends it with a wrong content type; `document` is the GraphQL text when there is one. */
  #breakBody(body: string, ctx: Ctx, document?: string): { body: string | Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
    const r = this.rng;
    const kind = r.pick([
      'truncated',
      'trailing comma',
      'single quotes',
      'NaN',
      'comment',
      'BOM',
      'duplicate keys',
      '__proto__',
      'empty',
      'not an object',
      'batch',
      'invalid utf-8',
      'content type',
      'no content type',
      'query not a string',
    ]);
    ctx.broken.push(`body: ${kind}`);
    const json = { 'content-type': 'application/json' };
    switch (kind) {
      case 'truncated':
        return { body: body.slice(0, r.int(0, body.length - 1)), headers: json };
      case 'trailing comma':
        return { body: `${body.slice(0, -1)},}`, headers: json };
      case 'single quotes':
        return { body: body.replaceAll('"', "'"), headers: json };
      case 'NaN':
        return { body: `${body.slice(0, -1)},"n":NaN}`, headers: json };
      case 'comment':
        return { body: `/* c */${body}`, headers: json };
      case 'BOM':
        return { body: `\ufeff${body}`, headers: json };
      case 'duplicate keys':
        return { body: `${body.slice(0, -1)},${body.slice(1)}`, headers: json };
      case '__proto__':
        return { body: `${body.slice(0, -1)},"__proto__":{"isSuperAdmin":true},"constructor":{"prototype":{"x":1}}}`, headers: json };
      case 'empty':
        return { body: r.pick(['', ' ', '\n']), headers: json };
      case 'not an object':
        return { body: r.pick(['null', '1', '"x"', 'true', '[]', '[[]]']), headers: json };
      case 'batch':
        return { body: `[${body},${body}]`, headers: json };
      case 'invalid utf-8': {
        const bytes = Buffer.from(body, 'utf8');
        const at = r.int(0, bytes.length);
        const bad = Buffer.from(r.pick([[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]));
        return { body: new Uint8Array(Buffer.concat([bytes.subarray(0, at), bad, bytes.subarray(at)])), headers: json };
      }
      case 'content type':
        return { body: document !== undefined && r.bool(0.3) ? document : body, headers: { 'content-type': r.pick(CONTENT_TYPES) } };
      case 'no content type':
        return { body, headers: {} };
      default:
        return { body: `{"query":${r.pick(['1', 'null', '[]', '{}', 'true', '["{ __typename }"]'])}}`, headers: json };
    }
  }

  #arguments(args: readonly GraphQLArgument[], field: string, ctx: Ctx, vars: Variables): string {
    const r = this.rng;
    const parts: string[] = [];
    for (const arg of args) {
      const required = isNonNullType(arg.type);
      if (required ? r.bool(ctx.chaos * 0.3) : !r.bool(0.45)) {
        if (required) ctx.broken.push(`missing argument ${arg.name}`);
        continue;
      }
      const value = this.#input(arg.type, arg.name, field, ctx);
      if (r.bool(0.5)) parts.push(`${arg.name}: $${vars.add(arg.type.toString(), value)}`);
      else parts.push(`${arg.name}: ${gqlLiteral(value, r.bool(0.05))}`);
    }
    if (r.bool(ctx.chaos * 0.2)) {
      ctx.broken.push('unknown argument');
      parts.push(r.pick(['nope: 1', 'tenantId: "x"', 'limit: 1, limit: 2']));
    }
    return parts.length > 0 ? `(${parts.join(', ')})` : '';
  }

  #selection(type: GraphQLOutputType, ctx: Ctx, depth: number, maxDepth: number, vars: Variables, mutation: boolean): string {
    const r = this.rng;
    const named = getNamedType(type);
    if (!isObjectType(named)) {
      if (r.bool(ctx.chaos * 0.1)) {
        ctx.broken.push('selection on a scalar');
        return ' { id }';
      }
      return '';
    }
    if (r.bool(ctx.chaos * 0.05)) {
      ctx.broken.push('no selection');
      return '';
    }
    const fields = Object.values((named as GraphQLObjectType).getFields());
    const leaves = fields.filter((f) => !isObjectType(getNamedType(f.type)));
    const objects = fields.filter((f) => isObjectType(getNamedType(f.type)));
    const parts: string[] = [];
    for (const f of leaves) if (r.bool(0.35)) parts.push(f.name);
    if (parts.length === 0 && leaves.length > 0) parts.push(r.pick(leaves).name);
    if (depth < maxDepth) {
      for (const f of objects) {
        if (!r.bool(depth === 1 ? 0.45 : 0.3)) continue;
        // Arguments on nested fields of a mutation's result would make a failure there look like a rejected
        // mutation that ran anyway; they are rare there.
        const args = f.args.length > 0 && r.bool(mutation ? 0.05 : 0.35) ? this.#arguments(f.args, f.name, ctx, vars) : '';
        const alias = r.bool(0.05) ? `${f.name}Alias: ` : '';
        parts.push(`${alias}${f.name}${args}${this.#selection(f.type, ctx, depth + 1, maxDepth, vars, mutation)}`);
      }
    }
    if (r.bool(0.05)) parts.push('__typename');
    if (r.bool(0.03)) parts.push(`... on ${named.name} { __typename }`);
    if (r.bool(ctx.chaos * 0.1)) {
      ctx.broken.push('unknown field');
      parts.push(r.pick(['nope', 'password', 'tenant_id', 'secret']));
    }
    if (parts.length === 0) parts.push('__typename');
    return ` { ${parts.join(' ')} }`;
  }

  // ----- REST ------------------------------------------------------------------------------------------------

  #resolve(schema: JsonSchema): JsonSchema {
    let s = schema;
    for (let i = 0; i < 10 && s.$ref; i++) {
      const name = s.$ref.slice(s.$ref.lastIndexOf('/') + 1);
      s = this.#components[name] ?? {};
    }
    return s;
  }

  #fromSchema(schema: JsonSchema, hint: string, ctx: Ctx, depth: number): Val {
    const r = this.rng;
    const s = this.#resolve(schema);
    if (depth > 0 && r.bool(ctx.chaos)) return this.#brokenFromSchema(s, hint, ctx, depth);
    if (s.const !== undefined) return s.const as Val;
    if (s.enum) return r.pick(s.enum) as Val;
    const variants = s.anyOf ?? s.oneOf;
    if (variants && variants.length > 0) return this.#fromSchema(r.pick(variants), hint, ctx, depth);
    if (s.allOf && s.allOf.length > 0) return this.#fromSchema(s.allOf[0]!, hint, ctx, depth);
    const type = Array.isArray(s.type) ? r.pick(s.type) : s.type;
    switch (type) {
      case 'object': {
        const entries: [string, Val][] = [];
        for (const [key, prop] of Object.entries(s.properties ?? {})) {
          if ((s.required ?? []).includes(key) || r.bool(0.45)) entries.push([key, this.#fromSchema(prop, key, ctx, depth + 1)]);
        }
        const first = Object.entries(s.properties ?? {})[0];
        if (entries.length < (s.minProperties ?? 0) && first) entries.push([first[0], this.#fromSchema(first[1], first[0], ctx, depth + 1)]);
        return objectOf(entries);
      }
      case 'array': {
        const max = Math.min(s.maxItems ?? 4, 4);
        const n = r.int(Math.min(s.minItems ?? 0, max), max);
        return Array.from({ length: n }, () => this.#fromSchema(s.items ?? {}, hint, ctx, depth + 1));
      }
      case 'string': {
        if (s.format === 'uuid') return this.#id(this.#kindOf(hint, ''), ctx);
        if (s.format === 'date-time') return this.#date();
        return this.#string(hint, '', ctx);
      }
      case 'integer':
      case 'number': {
        const min = s.minimum ?? 0;
        const max = s.maximum ?? Math.max(min, 100);
        if (hint === 'limit') return r.pick([min, 1, 10, 100, max].filter((v) => v >= min && v <= max));
        return r.pick([min, max, r.int(min, Math.min(max, min + 20))]);
      }
      case 'boolean':
        return r.bool();
      default:
        return r.pick<Val>(['x', 1, null, this.#json(2, ctx), []]);
    }
  }

  #brokenFromSchema(s: JsonSchema, hint: string, ctx: Ctx, depth: number): Val {
    const r = this.rng;
    const type = Array.isArray(s.type) ? s.type[0] : s.type;
    const choices: [number, () => Val][] = [
      [3, () => (ctx.broken.push(`${hint}: null`), null)],
      [4, () => (ctx.broken.push(`${hint}: wrong type`), r.pick<Val>([123, -1, 1.5, true, 'str', [], ['x'], objectOf([['a', 1]])]))],
      [3, () => this.#nasty(ctx)],
      [1, () => this.#deep(ctx)],
    ];
    if (!ctx.huge) choices.push([1, () => this.#huge(ctx)]);
    if (type === 'string' && s.format === 'uuid') choices.push([6, () => (ctx.broken.push(`${hint}: invalid uuid`), r.pick(INVALID_UUIDS))]);
    if (type === 'string' && s.maxLength !== undefined) choices.push([3, () => (ctx.broken.push(`${hint}: too long`), 'y'.repeat(s.maxLength! + 1))]);
    if (type === 'string' && s.minLength !== undefined && s.minLength > 0) choices.push([2, () => (ctx.broken.push(`${hint}: too short`), '')]);
    if (type === 'integer' || type === 'number') {
      choices.push([4, () => this.#brokenInt(ctx)]);
      if (s.maximum !== undefined) choices.push([3, () => (ctx.broken.push(`${hint}: over maximum`), s.maximum! + 1)]);
      if (s.minimum !== undefined) choices.push([3, () => (ctx.broken.push(`${hint}: under minimum`), s.minimum! - 1)]);
    }
    if (type === 'array') {
      if (!ctx.huge) choices.push([2, () => this.#hugeList(hint, '', ctx)]);
      if (s.maxItems !== undefined && s.maxItems <= 20_000 && !ctx.huge) {
        choices.push([
          2,
          () => {
            ctx.broken.push(`${hint}: maxItems + 1`);
            ctx.huge = s.maxItems! > 100;
            const item = this.#fromSchema(s.items ?? {}, hint, { ...ctx, chaos: 0 }, depth + 1);
            return Array.from({ length: s.maxItems! + 1 }, () => item);
          },
        ]);
      }
    }
    if (type === 'object') {
      choices.push([4, () => this.#withUnknownField(this.#fromSchema(s, hint, { ...ctx, chaos: 0 }, 0), ctx)]);
      const required = s.required ?? [];
      if (required.length > 0) {
        choices.push([
          4,
          () => {
            const drop = r.pick(required);
            ctx.broken.push(`missing ${drop}`);
            const full = this.#fromSchema(s, hint, { ...ctx, chaos: 0 }, 0);
            return isPlainObject(full) ? objectOf(Object.entries(full).filter(([k]) => k !== drop)) : full;
          },
        ]);
      }
    }
    return r.weighted(choices)();
  }

  #pathParam(name: string, ctx: Ctx): string {
    const r = this.rng;
    if (r.bool(ctx.chaos)) {
      const value = r.bool(0.6) ? r.pick(INVALID_UUIDS) : this.#nasty({ ...ctx, huge: true });
      ctx.broken.push(`path ${name}: ${JSON.stringify(value.slice(0, 40))}`);
      // Mostly encoded; sometimes raw ASCII, which may change the route itself.
      if (r.bool(0.15) && /^[\x21-\x7e]*$/.test(value)) return value;
      return percentEncode(value);
    }
    return this.#id(this.#kindOf(name, ''), ctx);
  }

  #rest(actor: Actor): FuzzRequest {
    const r = this.rng;
    const op = r.pick(this.#ops);
    let method = op.method;
    let writes = !op.reads;
    if (r.bool(0.02)) {
      method = r.pick(['PUT', 'DELETE', 'PATCH', 'POST', 'GET'].filter((m) => m !== op.method));
      writes = true;
    }
    const ctx = this.#ctx(actor, writes);
    if (method !== op.method) ctx.broken.push(`method ${method}`);
    let path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => this.#pathParam(name, ctx));
    const query = new URLSearchParams();
    for (const q of op.queryParams) {
      if (!q.required && !r.bool(0.5)) continue;
      const value = this.#fromSchema(q.schema, q.name, ctx, 1);
      query.set(q.name, typeof value === 'string' ? value : jsonText(value));
    }
    if (r.bool(0.04)) {
      ctx.broken.push('unknown query parameter');
      query.append(r.pick(['x', '__proto__', 'limit', 'companyId']), r.pick(['1', '', 'a b', '%']));
    }
    if (r.bool(0.02)) {
      const variant = r.pick(['trailing slash', 'double slash', 'upper case']);
      ctx.broken.push(variant);
      path = variant === 'trailing slash' ? `${path}/` : variant === 'double slash' ? path.replace('/v3/', '/v3//') : path.toUpperCase();
    }
    const qs = query.toString();
    const headers: Record<string, string> = { ...this.#credentials(actor), ...this.#extraHeaders(ctx) };
    const base = { seq: this.#seq, source: 'rest' as const, label: `rest ${op.method} ${op.operationId}`, actor, method, path: qs ? `${path}?${qs}` : path, writes };
    if (method === 'GET' || method === 'HEAD') return { ...base, broken: ctx.broken, headers };
    if (!op.body) {
      // DELETE and friends: no body, or an unexpected one.
      if (r.bool(0.1)) {
        ctx.broken.push('unexpected body');
        return { ...base, broken: ctx.broken, headers: { ...headers, 'content-type': 'application/json' }, body: r.pick(['{}', '{"x":1}', '', 'nope']) };
      }
      return { ...base, broken: ctx.broken, headers };
    }
    let body: string | Uint8Array<ArrayBuffer> = jsonText(r.bool(0.03) ? (ctx.broken.push('no body'), null) : this.#fromSchema(op.body, 'body', ctx, 0));
    if (!ctx.huge && r.bool(0.05)) body = jsonText(this.#brokenFromSchema(this.#resolve(op.body), 'body', ctx, 0));
    let bodyHeaders: Record<string, string> = { 'content-type': 'application/json' };
    if (r.bool(0.04 + ctx.chaos * 0.2)) ({ body, headers: bodyHeaders } = this.#breakBody(body, ctx));
    return { ...base, broken: ctx.broken, headers: { ...headers, ...bodyHeaders }, body };
  }

  // ----- other HTTP endpoints --------------------------------------------------------------------------------

  #http(actor: Actor): FuzzRequest {
    const r = this.rng;
    const ctx = this.#ctx(actor, false);
    const headers: Record<string, string> = this.#credentials(actor);
    const base = { seq: this.#seq, source: 'http' as const, actor, broken: ctx.broken };
    const kind = r.weighted([
      [30, 'authorize'],
      [10, 'service account'],
      [20, 'static'],
      [8, 'HEAD'],
      [12, 'unknown route'],
      [8, 'wrong method'],
      [8, 'bad url'],
      [4, 'long url'],
    ]);
    switch (kind) {
      case 'authorize': {
        const entries: [string, Val][] = [];
        if (r.bool(0.9)) entries.push(['userId', r.bool(ctx.chaos + 0.1) ? r.pick(INVALID_UUIDS) : this.#id('user', ctx)]);
        if (r.bool(0.4)) entries.push(['expiresIn', r.pick<Val>(['15m', 60, '2h', '7d', '8d', 0, -1, 'abc', 1e10, '1e3', null, '', ' 5 s'])]);
        if (r.bool(0.2)) entries.push(['environmentId', r.pick<Val>(['env', '', null, 1])]);
        let value: Val = objectOf(entries);
        if (r.bool(ctx.chaos)) value = this.#withUnknownField(value, ctx);
        let body: string | Uint8Array<ArrayBuffer> = jsonText(value);
        let bodyHeaders: Record<string, string> = { 'content-type': 'application/json' };
        if (r.bool(0.1 + ctx.chaos)) ({ body, headers: bodyHeaders } = this.#breakBody(body, ctx));
        return { ...base, label: 'http POST /v01/authorize', method: 'POST', path: '/v01/authorize', headers: { ...headers, ...bodyHeaders }, body, writes: false };
      }
      case 'service account': {
        const value = objectOf([
          ['apiKey', r.pick<Val>(['wrong-key', '', null, 1, 'test-super-admin-key-01234567890', 'x'.repeat(5000)])],
          ['environmentId', r.pick<Val>(['env', '', null])],
        ]);
        return { ...base, label: 'http POST /v01/authorize/serviceAccount', method: 'POST', path: '/v01/authorize/serviceAccount', headers: { ...headers, 'content-type': 'application/json' }, body: jsonText(value), writes: false };
      }
      case 'static': {
        const path = r.pick(['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/json', '/graphiql', '/.well-known/jwks.json', '/graphql']);
        return { ...base, label: `http GET ${path}`, method: 'GET', path, headers: { ...headers, accept: r.pick(['application/json', 'text/html', '*/*']) }, writes: false };
      }
      case 'HEAD': {
        const path = r.pick(['/healthz', '/v3/permissions', `/v3/users/${this.#id('user', ctx)}/rbac-info`]);
        return { ...base, label: 'http HEAD', method: 'HEAD', path, headers, writes: false };
      }
      case 'unknown route': {
        const path = r.pick(['/', '/v3', '/v3/nope', '/v4/companies', '/v3/companies', `/v3/companies/${this.#id('tenant', ctx)}`, '/graphql/x', '/admin', '/v3/users', '/%00', '/.env']);
        const method = r.pick(['GET', 'POST']);
        return { ...base, label: 'http unknown route', method, path, headers: method === 'POST' ? { ...headers, 'content-type': 'application/json' } : headers, ...(method === 'POST' ? { body: '{}' } : {}), writes: method === 'POST' };
      }
      case 'wrong method': {
        const method = r.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS']);
        const path = r.pick(['/graphql', '/v3/permissions', '/v01/authorize', '/healthz']);
        return { ...base, label: 'http wrong method', method, path, headers, writes: true };
      }
      case 'bad url': {
        const path = r.pick(['/v3/companies/%E0%A4%A/user-groups/list', '/graphql?query=%', '/v3/users/%zz/rbac-info', '/v3/permissions?%', '/graphql?query={__typename}&query={__typename}']);
        return { ...base, label: 'http malformed url', method: 'GET', path, headers, writes: false };
      }
      default: {
        const size = r.pick([9000, 17_000, 70_000]);
        ctx.broken.push(`url of ${size} characters`);
        return { ...base, label: 'http long url', method: 'GET', path: `/graphql?query=${'x'.repeat(size)}`, headers, writes: false };
      }
    }
  }
}

/** The variables of one GraphQL document: declarations and values, either of which may be broken. */
class Variables {
  readonly #entries: { name: string; type: string; value: Val }[] = [];

  add(type: string, value: Val): string {
    const name = `v${this.#entries.length}`;
    this.#entries.push({ name, type, value });
    return name;
  }

  declarations(r: Rng, ctx: Ctx): string {
    if (this.#entries.length === 0) return '';
    const parts = this.#entries.map((e) => {
      if (!r.bool(ctx.chaos * 0.15)) return `$${e.name}: ${e.type}`;
      ctx.broken.push(`variable type of $${e.name}`);
      return `$${e.name}: ${r.pick([e.type.replace(/!$/, ''), 'String', 'Nope', `[${e.type}]`, 'Int!'])}`;
    });
    if (r.bool(ctx.chaos * 0.1)) parts.push('$unused: String');
    return `(${parts.join(', ')})`;
  }

  json(r: Rng, ctx: Ctx): string | undefined {
    if (this.#entries.length === 0) return r.bool(0.1) ? '{}' : undefined;
    const parts: string[] = [];
    for (const e of this.#entries) {
      if (r.bool(ctx.chaos * 0.1)) {
        ctx.broken.push(`variable $${e.name} left out`);
        continue;
      }
      parts.push(`${JSON.stringify(e.name)}:${jsonText(e.value)}`);
    }
    if (r.bool(ctx.chaos * 0.1)) parts.push('"extra":{"a":1}');
    return `{${parts.join(',')}}`;
  }
}
