/**
 * Fuzz: at least 10,000 requests generated from the GraphQL schema and the OpenAPI document (then broken in many
 * ways, see helpers/fuzz-requests.ts), sent to a real server as the super-admin, as three user tokens of tenant B
 * (company admin, group manager, no role) and with broken credentials. Over all of them:
 *
 * 1. no 5xx, no network error (except a connection closed while a body over the size limit was still being sent:
 *    the 413 comes first, by design) and no promise the server lets reject unobserved (that ends a production
 *    process);
 * 2. nothing of tenant A (its ids, and marker strings planted in its names, emails, references and custom data)
 *    reaches a tenant-B token or an unauthenticated caller, unless the request itself carried it;
 * 3. a request answered with an error (4xx, or GraphQL errors with no data) leaves the data tables exactly as they
 *    were (no committed insert, update or delete), reads never change them, and tenant A's rows never change;
 * 4. every error carries a machine code (GraphQL `errors[].extensions.code`, REST `errorMessages[].errorCode`, the
 *    token endpoints' `errorCode`), in UPPER_SNAKE_CASE.
 *
 * Reads run 6 at a time, with a checksum of the data tables before and after each window of reads (which the
 * window must leave unchanged); writes run one at a time with a checksum after each, so every change is attributed
 * to the one request that made it. The checksum is, per table, the row count and the sum of the rows' xmin, and is
 * recomputed only when a transaction id was assigned since the last one.
 *
 * ROSTER_FUZZ_SEED (a number, any text, or `random`) and ROSTER_FUZZ_REQUESTS override the seed and the count;
 * ROSTER_FUZZ_TRACE=1 prints every exchange; ROSTER_FUZZ_FAILURES=<file> saves every failure with its request.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { ErrorCodes } from '../src/errors.ts';
import { gqlOk, rest, startServer, unique, type TestServer } from './helpers/server.ts';
import { addManagers, addMembers, createGroup, createUser, userToken, type CreatedUser } from './helpers/roster.ts';
import { FuzzGenerator, parseSeed, type FuzzFixture, type FuzzRequest, type Kind, type Scope, type TextPool, type TextScope } from './helpers/fuzz-requests.ts';

const DEFAULT_SEED = 20_260_601;
const seedEnv = process.env.ROSTER_FUZZ_SEED;
const SEED = seedEnv === 'random' ? randomInt(2 ** 31) : seedEnv ? parseSeed(seedEnv) : DEFAULT_SEED;
const REQUESTS = Number(process.env.ROSTER_FUZZ_REQUESTS ?? 10_000);
if (!Number.isSafeInteger(REQUESTS) || REQUESTS < 1) throw new Error(`ROSTER_FUZZ_REQUESTS must be a positive integer, not ${process.env.ROSTER_FUZZ_REQUESTS}`);
const CONCURRENCY = 6;
/** Requests generated at a time; their reads run concurrently, then their writes one by one. */
const CHUNK = 48;
const SHOWN = 8;
/** ROSTER_FUZZ_TRACE=1 prints every request and the start of its answer. */
const TRACE = !!process.env.ROSTER_FUZZ_TRACE;
/** ROSTER_FUZZ_FAILURES=<file> writes every failure, with its whole request, as JSON lines. */
const FAILURES_FILE = process.env.ROSTER_FUZZ_FAILURES;

/** Every string planted in tenant A contains one `qzmarka<n>x`; nothing the generator invents does. */
const MARKER_RE = /qzmarka\d+x/g;
const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const CODE_RE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;
const DATA_TABLES = ['tenants', 'users', 'user_groups', 'user_group_members', 'user_group_managers', 'roles', 'user_roles', 'group_roles'];
const SCHEMA_SDL = readFileSync(new URL('../src/transports/graphql/schema.graphql', import.meta.url), 'utf8');

interface Failure {
  readonly what: string;
  readonly request: string;
  readonly response: string;
  /** The whole request, for ROSTER_FUZZ_FAILURES. */
  readonly raw?: FuzzRequest;
}

/**
 * Failures of one kind look alike: the same complaint, the same error code or message start, and (for server
 * errors, whose answers all look the same) the same kind of request. The report shows one of each kind.
 */
function signature(f: Failure): string {
  const mask = (x: string) => x.replace(UUID_RE, '<id>').replace(/\d+/g, 'N');
  const code = /"(?:errorCode|code|error)":"([^"]*)"/.exec(f.response)?.[1] ?? mask(f.response.split('\n')[0]!.slice(0, 60));
  if (/answered with an error changed/.test(f.what)) return `${f.what} | ${f.response.slice(0, 3)}`;
  if (/changed/.test(f.what)) return `${f.what} | ${f.request.split('\n')[0]!.replace(/^#\d+ /, '').replace(UUID_RE, '<id>').slice(0, 120)}`;
  const request = f.raw && /5\d\d/.test(f.what) ? `${f.raw.label} ${f.raw.broken.filter((b) => /^(document|body|GET|application)/.test(b)).join(',')}` : '';
  return `${f.what.replace(UUID_RE, '<id>').replace(/\d{5,}/g, 'N')} | ${code} | ${request}`;
}

interface GraphqlEnvelope {
  data?: unknown;
  errors?: { message?: unknown; path?: unknown; extensions?: { code?: unknown } }[];
}

describe(`fuzz (seed ${SEED}, ${REQUESTS} requests)`, () => {
  let server: TestServer;
  let fixture: FuzzFixture;
  let tenantA: string;
  let aIds: Set<string>;
  let tokens: Tokens;
  let openapi: unknown;
  let tokensRefused = false;

  const failures = { server: [] as Failure[], leak: [] as Failure[], data: [] as Failure[], code: [] as Failure[] };
  const stats = {
    sent: 0,
    statuses: new Map<string, number>(),
    bySource: new Map<string, number>(),
    byActor: new Map<string, Map<string, number>>(),
    verdicts: new Map<string, number>(),
    copied: new Set<string>(),
    checksums: 0,
    fullChecksums: 0,
    checksumMs: 0,
    tokenRefreshes: 0,
    elapsedMs: 0,
  };

  // A promise the server let reject unobserved: in production (no handler) that ends the process.
  const inFlight = new Set<FuzzRequest>();
  const recent: string[] = [];
  const onUnhandled = (reason: unknown) => {
    failures.server.push({
      what: `unhandled promise rejection in the server: ${String(reason)}`,
      request: inFlight.size ? [...inFlight].map(describeRequest).join('\n    or ') : '(none in flight)',
      response: String((reason as Error | undefined)?.stack ?? reason).split('\n').slice(0, 6).join('\n      '),
    });
  };

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    server = await startServer();
    ({ fixture, tenantA, aIds, tokens } = await seed(server));
    const res = await fetch(`${server.url}/openapi.json`);
    assert.equal(res.status, 200);
    openapi = await res.json();
  });
  after(async () => {
    await server?.close();
    process.off('unhandledRejection', onUnhandled);
  });

  // ----- the data checksum -------------------------------------------------------------------------------------

  let checksumSql: string;
  let lastChecksum: { xid: string; value: { all: string; a: string } } | undefined;
  /** Per data table: row count and the sum of the row versions' transaction ids; separately, of tenant A's rows. */
  async function checksum(): Promise<{ all: string; a: string }> {
    stats.checksums++;
    const t0 = performance.now();
    try {
      // No row changes without a transaction id, and reading the next one to be assigned assigns none: while it
      // stands still (most rejected requests never write), the last checksum still holds.
      const { rows } = await sql<{ xid: string }>`select pg_snapshot_xmax(pg_current_snapshot())::text as xid`.execute(server.database.db);
      const xid = rows[0]!.xid;
      if (lastChecksum?.xid === xid) return lastChecksum.value;
      stats.fullChecksums++;
      const value = await computeChecksum();
      lastChecksum = { xid, value };
      return value;
    } finally {
      stats.checksumMs += performance.now() - t0;
    }
  }
  async function computeChecksum(): Promise<{ all: string; a: string }> {
    if (!checksumSql) {
      const existing = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema()`.execute(server.database.db);
      const names = new Set(existing.rows.map((r) => r.table_name));
      const tables = DATA_TABLES.filter((t) => names.has(t));
      assert.ok(tables.length >= 6, `data tables not found: ${[...names].join(', ')}`);
      // Row versions rather than row contents (three times cheaper): every committed insert or update makes a row
      // version with a transaction id newer than all before it, and a delete lowers the count, so any committed
      // change moves (count, sum of xmin); rolled-back work and locking reads leave it alone.
      const version = 'r.xmin::text::bigint';
      checksumSql = tables
        .map((t) => {
          const ofA = t === 'tenants' ? `r.id = '${tenantA}'` : `r.tenant_id = '${tenantA}'`;
          return `select '${t}' as t, count(*)::text as n, coalesce(sum(${version}), 0)::text as h, count(*) filter (where ${ofA})::text as na, coalesce(sum(${version}) filter (where ${ofA}), 0)::text as ha from ${t} r`;
        })
        .join(' union all ');
    }
    const { rows } = await sql<{ t: string; n: string; h: string; na: string; ha: string }>`${sql.raw(checksumSql)}`.execute(server.database.db);
    rows.sort((x, y) => x.t.localeCompare(y.t));
    return { all: rows.map((r) => `${r.t}:${r.n}:${r.h}`).join(' '), a: rows.map((r) => `${r.t}:${r.na}:${r.ha}`).join(' ') };
  }

  /** Whether `token` (a marker or an id of A) now appears in rows outside tenant A, copied there by some write. */
  async function copiedOutsideA(token: string): Promise<boolean> {
    if (stats.copied.has(token)) return true;
    const { rows } = await sql<{ copied: boolean }>`
      select exists (
        select 1 from users r where r.tenant_id <> ${tenantA} and strpos(lower(r::text), ${token}) > 0
        union all select 1 from user_groups r where r.tenant_id <> ${tenantA} and strpos(lower(r::text), ${token}) > 0
        union all select 1 from roles r where r.tenant_id is distinct from ${tenantA} and strpos(lower(r::text), ${token}) > 0
        union all select 1 from tenants r where r.id <> ${tenantA} and strpos(lower(r::text), ${token}) > 0
      ) as copied`.execute(server.database.db);
    const copied = rows[0]?.copied === true;
    if (copied) stats.copied.add(token);
    return copied;
  }

  // ----- sending and judging one request ---------------------------------------------------------------------

  function resolveHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      out[name] = value
        .replaceAll('{{apiKey}}', server.apiKey)
        .replaceAll('{{basicApiKey}}', Buffer.from(`fuzz-env:${server.apiKey}`).toString('base64'))
        .replace(/\{\{token:(\w+)(:tampered)?\}\}/g, (_, actor: string, tampered?: string) => {
          const token = tokens[actor as keyof typeof tokens] ?? 'unknown-actor';
          // Another last character of the signature: a token that no longer verifies.
          return tampered ? `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}` : token;
        });
    }
    return out;
  }

  function bodyText(body: string | Uint8Array | undefined): string {
    if (body === undefined) return '';
    return typeof body === 'string' ? body : new TextDecoder().decode(body);
  }

  function describeRequest(req: FuzzRequest): string {
    const body = bodyText(req.body);
    const headers = Object.entries(req.headers)
      .map(([k, v]) => `${k}: ${v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v}`)
      .join('; ');
    const shownBody = body.length > 700 ? `${body.slice(0, 700)}…(${body.length} chars)` : body;
    const path = req.path.length > 300 ? `${req.path.slice(0, 300)}…(${req.path.length} chars)` : req.path;
    return `#${req.seq} [${req.actor}] ${req.method} ${path}  (${req.label}${req.broken.length ? `; ${req.broken.slice(0, 6).join(', ')}` : ''})\n      headers: ${headers}\n      body: ${shownBody}`;
  }

  function describeResponse(status: number, text: string): string {
    return `${status} ${text.length > 700 ? `${text.slice(0, 700)}…(${text.length} chars)` : text}`;
  }

  /** What the caller sent, lower-cased, decoded and re-serialized, to tell an echo from a leak. */
  function requestText(req: FuzzRequest): string {
    const body = bodyText(req.body);
    let path = req.path;
    try {
      path = decodeURIComponent(req.path.replaceAll('+', ' '));
    } catch {
      // a malformed escape: the raw path
    }
    let normalized = '';
    try {
      normalized = JSON.stringify(JSON.parse(body));
    } catch {
      // not JSON, or too deep to re-serialize
    }
    return `${path}\n${Object.values(req.headers).join('\n')}\n${body}\n${normalized}`.toLowerCase();
  }

  function count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  interface Outcome {
    req: FuzzRequest;
    status: number;
    text: string;
    verdict: 'rejected' | 'accepted' | 'network error';
    /** Why GraphQL root fields may have run although the answer is an error (see judge). */
    ran?: 'selection' | 'other field';
  }

  async function send(req: FuzzRequest): Promise<Outcome> {
    stats.sent++;
    count(stats.bySource, req.source);
    let status: number;
    let text: string;
    inFlight.add(req);
    try {
      const res = await fetch(`${server.url}${req.path}`, { method: req.method, headers: resolveHeaders(req.headers), body: req.body, redirect: 'manual' });
      status = res.status;
      text = await res.text();
      recent.push(`#${req.seq} ${req.method} ${req.path.slice(0, 60)} → ${status}, connection: ${res.headers.get('connection') ?? '(none)'}`);
      if (recent.length > 6) recent.shift();
      // Let a promise the request left behind settle while the request still counts as in flight.
      await new Promise((resolve) => setImmediate(resolve));
    } catch (e) {
      inFlight.delete(req);
      const cause = (e as { cause?: unknown }).cause;
      // A body over the limit is refused (413, Connection: close) before it is read: the client may still be
      // writing when the socket closes. That race is not the server's fault.
      if (Buffer.byteLength(bodyText(req.body)) > fixture.limits.bodyBytes) {
        count(stats.statuses, 'closed while sending a body over the limit');
        return { req, status: 0, text: '', verdict: 'network error' };
      }
      failures.server.push({
        what: 'network error',
        raw: req,
        request: describeRequest(req),
        response: `${String(cause ?? e)}\n      answers just before on the client's connections (one may have left a closing socket in the pool):\n        ${recent.join('\n        ')}`,
      });
      count(stats.statuses, 'network error');
      return { req, status: 0, text: '', verdict: 'network error' };
    }
    inFlight.delete(req);
    // A token holder's own token refused: issue new tokens before the next chunk (and count it).
    if (status === 401 && req.actor !== 'superAdmin' && req.actor !== 'anonymous' && !req.path.startsWith('/v01/authorize/serviceAccount')) tokensRefused = true;
    if (TRACE) console.log('fuzz trace:', status, req.actor, req.method, req.path.slice(0, 100), req.label, JSON.stringify(req.broken), '\n   ', bodyText(req.body).slice(0, 300), '\n   =>', text.slice(0, 300));
    count(stats.statuses, String(status));
    const actorStats = stats.byActor.get(req.actor) ?? new Map<string, number>();
    stats.byActor.set(req.actor, actorStats);
    count(actorStats, String(status));

    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status >= 500) failures.server.push({ what: `HTTP ${status}`, raw: req, request: describeRequest(req), response: describeResponse(status, text) });
    checkCodes(req, status, text, parsed);
    if (req.actor !== 'superAdmin') await checkLeaks(req, status, text);
    const { verdict, ran } = judge(req, status, parsed);
    count(stats.verdicts, verdict);
    return { req, status, text, verdict, ran };
  }

  /** Assertion 4: errors carry an UPPER_SNAKE machine code in one of Roster's envelopes. */
  function checkCodes(req: FuzzRequest, status: number, text: string, parsed: unknown): void {
    const body = (parsed ?? {}) as { errors?: unknown; errorMessages?: unknown; errorCode?: unknown };
    let codes: unknown[] | undefined;
    if (Array.isArray(body.errorMessages)) codes = body.errorMessages.map((e: { errorCode?: unknown } | null) => e?.errorCode);
    else if (Array.isArray(body.errors)) codes = body.errors.map((e: { extensions?: { code?: unknown } } | null) => e?.extensions?.code);
    else if (body.errorCode !== undefined) codes = [body.errorCode];
    const isError = status >= 400;
    if (!isError && !(codes && codes.length > 0)) return;
    if (req.method === 'HEAD') return; // no body by definition
    if (!codes || codes.length === 0) {
      failures.code.push({ what: `HTTP ${status} without a machine code`, raw: req, request: describeRequest(req), response: describeResponse(status, text) });
      return;
    }
    const bad = codes.filter((c) => typeof c !== 'string' || !CODE_RE.test(c));
    if (bad.length > 0) failures.code.push({ what: `HTTP ${status} with a missing or malformed code ${JSON.stringify(bad[0])}`, raw: req, request: describeRequest(req), response: describeResponse(status, text) });
  }

  /** Assertion 2: a marker or an id of tenant A in the answer, which the request did not carry itself. */
  async function checkLeaks(req: FuzzRequest, status: number, text: string): Promise<void> {
    const answer = text.toLowerCase();
    if (!answer.includes('qzmarka') && ![...answer.matchAll(UUID_RE)].some((m) => aIds.has(m[0]))) return;
    const sent = requestText(req);
    const candidates = new Set<string>();
    for (const m of answer.matchAll(MARKER_RE)) if (!sent.includes(m[0])) candidates.add(m[0]);
    for (const m of answer.matchAll(UUID_RE)) if (aIds.has(m[0]) && !sent.includes(m[0])) candidates.add(m[0]);
    for (const token of candidates) {
      if (await copiedOutsideA(token)) continue;
      failures.leak.push({ what: `tenant A's ${token.startsWith('qzmarka') ? 'marker' : 'id'} ${token} in an answer to ${req.actor}`, raw: req, request: describeRequest(req), response: describeResponse(status, text) });
    }
  }

  /**
   * Did the answer say the request failed? REST and HTTP: a 4xx. GraphQL: errors, and no data (`data: null`, or
   * every root field null). For GraphQL, `ran` tells from the errors' paths why some root fields may nonetheless
   * have run: `selection` (errors only deeper in a root field's selection: it ran, then its result was nulled) or
   * `other field` (a root field with no error at all: it ran before another one failed and nulled the whole data).
   */
  function judge(req: FuzzRequest, status: number, parsed: unknown): { verdict: Outcome['verdict']; ran?: 'selection' | 'other field' } {
    const envelope = parsed as GraphqlEnvelope | undefined;
    const graphql = req.source === 'graphql' && envelope !== null && typeof envelope === 'object' && ('errors' in envelope || 'data' in envelope);
    if (!graphql) return { verdict: status >= 400 ? 'rejected' : 'accepted' };
    const errors = Array.isArray(envelope.errors) ? envelope.errors : [];
    if (errors.length === 0) return { verdict: status >= 400 ? 'rejected' : 'accepted' };
    const data = envelope.data;
    const noData = data === null || data === undefined || (typeof data === 'object' && Object.values(data as Record<string, unknown>).every((v) => v === null));
    if (!noData) return { verdict: 'accepted' };
    const paths = errors.map((e) => (Array.isArray(e.path) ? (e.path as unknown[]).map(String) : undefined));
    // A request-level error (no path: parse, validation, variables, credentials): nothing ran.
    if (paths.some((p) => p === undefined)) return { verdict: 'rejected' };
    const atRoot = new Set(paths.filter((p) => p!.length === 1).map((p) => p![0]!));
    const deeper = new Set(paths.filter((p) => p!.length > 1).map((p) => p![0]!));
    const keys = req.rootKeys ?? [];
    if (keys.some((k) => deeper.has(k) && !atRoot.has(k))) return { verdict: 'rejected', ran: 'selection' };
    if (keys.some((k) => !deeper.has(k) && !atRoot.has(k))) return { verdict: 'rejected', ran: 'other field' };
    return { verdict: 'rejected' };
  }

  async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(n, items.length) }, async () => {
        while (next < items.length) await fn(items[next++]!);
      }),
    );
  }

  // ----- the campaign --------------------------------------------------------------------------------------

  it(`sends ${REQUESTS} generated requests`, async (t) => {
    const started = Date.now();
    const generator = new FuzzGenerator({ seed: SEED, fixture, schemaSdl: SCHEMA_SDL, openapi });
    const coverage = generator.coverage;
    t.diagnostic(`seed ${SEED} (ROSTER_FUZZ_SEED=${SEED} reproduces this run); ${coverage.queries.length} queries, ${coverage.mutations.length} mutations, ${coverage.operations.length} REST operations`);
    console.log(`fuzz: seed ${SEED}, ${REQUESTS} requests (ROSTER_FUZZ_SEED / ROSTER_FUZZ_REQUESTS override)`);
    const labels = new Set<string>();
    let baseline = await checksum();
    const initialA = baseline.a;
    const checkA = (after: { a: string }, culprit: string) => {
      if (after.a !== initialA && failures.data.every((f) => !f.what.startsWith("tenant A's rows changed"))) {
        failures.data.push({ what: "tenant A's rows changed (nothing the fuzz sends may change them)", request: culprit, response: `${initialA}\n   → ${after.a}` });
      }
    };

    let generated = 0;
    while (generated < REQUESTS) {
      if (tokensRefused) {
        stats.tokenRefreshes++;
        tokensRefused = false;
        tokens = await issueTokens(server, fixture.protectedIds.slice(0, 3));
      }
      const chunk: FuzzRequest[] = [];
      for (let i = 0; i < CHUNK && generated < REQUESTS; i++, generated++) chunk.push(generator.next());
      for (const req of chunk) labels.add(req.label);
      const reads = chunk.filter((r) => !r.writes);
      const writes = chunk.filter((r) => r.writes);

      // Reads, concurrently: together they must not change anything.
      await pool(reads, CONCURRENCY, async (req) => {
        await send(req);
      });
      const afterReads = await checksum();
      if (afterReads.all !== baseline.all) {
        // Find the culprit(s): replay the window one by one (not counted as fuzz requests).
        const culprits: string[] = [];
        let before = afterReads;
        for (const req of reads) {
          await fetch(`${server.url}${req.path}`, { method: req.method, headers: resolveHeaders(req.headers), body: req.body, redirect: 'manual' }).then((r) => r.text(), () => '');
          const now = await checksum();
          if (now.all !== before.all) culprits.push(describeRequest(req));
          before = now;
        }
        failures.data.push({ what: 'a window of reads changed the data', request: culprits.length ? culprits.join('\n    ') : reads.map(describeRequest).join('\n    '), response: `${baseline.all}\n   → ${afterReads.all}` });
        baseline = before;
      } else {
        baseline = afterReads;
      }
      checkA(afterReads, 'one of the reads of a window');

      // Writes, one at a time, each followed by a checksum.
      for (const req of writes) {
        const outcome = await send(req);
        const now = await checksum();
        if (outcome.verdict === 'rejected' && now.all !== baseline.all) {
          const why =
            outcome.ran === 'selection' ? ' (a mutation ran, then an error in its selection nulled the answer)'
            : outcome.ran === 'other field' ? ' (a mutation without an error ran, then another root field failed and nulled the answer)'
            : '';
          failures.data.push({ what: `a request answered with an error changed the data${why}`, raw: req, request: describeRequest(req), response: `${describeResponse(outcome.status, outcome.text)}\n      checksum ${baseline.all}\n            → ${now.all}` });
        }
        checkA(now, describeRequest(req));
        baseline = now;
      }
    }
    stats.elapsedMs = Date.now() - started;

    const sorted = (m: Map<string, number>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`).join(', ');
    const lines = [
      `sent ${stats.sent} requests in ${(stats.elapsedMs / 1000).toFixed(1)} s (${stats.checksums} checksums, ${stats.fullChecksums} computed, taking ${(stats.checksumMs / 1000).toFixed(1)} s); ${labels.size} distinct request kinds`,
      `by status: ${sorted(stats.statuses)}`,
      `by source: ${sorted(stats.bySource)}`,
      ...[...stats.byActor.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([actor, m]) => `  ${actor}: ${sorted(m)}`),
      `verdicts: ${sorted(stats.verdicts)}; tenant-A strings copied elsewhere by writes: ${stats.copied.size}; B tokens refused and reissued: ${stats.tokenRefreshes}`,
      `failures: ${failures.server.length} 5xx/network, ${failures.leak.length} leaks, ${failures.data.length} data changes, ${failures.code.length} missing codes`,
    ];
    for (const line of lines) t.diagnostic(line);
    if (FAILURES_FILE) {
      const all = Object.entries(failures).flatMap(([category, list]) => list.map((f) => ({ category, what: f.what, response: f.response, request: f.raw ? { ...f.raw, body: bodyText(f.raw.body) } : f.request })));
      writeFileSync(FAILURES_FILE, all.map((f) => JSON.stringify(f)).join('\n'));
      t.diagnostic(`${all.length} failures written to ${FAILURES_FILE}`);
    }
    console.log(lines.map((l) => `fuzz: ${l}`).join('\n'));
    assert.ok(stats.sent >= REQUESTS, `only ${stats.sent} of ${REQUESTS} requests were sent`);
    // Every query, mutation and REST operation was exercised.
    if (REQUESTS >= 5000) {
      const seen = new Set<string>();
      for (const label of labels) {
        const [source, kind, names] = label.split(' ');
        if (source === 'graphql') for (const name of names!.split('+')) seen.add(`graphql ${kind} ${name}`);
        if (source === 'rest') seen.add(label);
      }
      const expected = [...coverage.queries.map((q) => `graphql query ${q}`), ...coverage.mutations.map((q) => `graphql mutation ${q}`), ...coverage.operations.map((o) => `rest ${o}`)];
      assert.deepEqual(expected.filter((e) => !seen.has(e)), [], 'never generated');
    }
  });

  const report = (list: readonly Failure[], title: string) => {
    const kinds = new Map<string, { first: Failure; count: number }>();
    for (const f of list) {
      const kind = kinds.get(signature(f));
      if (kind) kind.count++;
      else kinds.set(signature(f), { first: f, count: 1 });
    }
    const shown = [...kinds.values()].slice(0, SHOWN);
    return (
      `${list.length} ${title} of ${kinds.size} kinds (seed ${SEED}); one of each of the first ${shown.length} kinds:\n` +
      shown.map(({ first: f, count }, i) => `${i + 1}. ${f.what} (×${count})\n    request:  ${f.request}\n    response: ${f.response}`).join('\n')
    );
  };

  it('answers no request with a 5xx or a network error', () => {
    assert.ok(stats.sent > 0, 'the campaign did not run');
    assert.equal(failures.server.length, 0, report(failures.server, 'server errors'));
  });

  it("gives tenant B's tokens and unauthenticated callers nothing of tenant A", () => {
    assert.ok(stats.sent > 0, 'the campaign did not run');
    assert.equal(failures.leak.length, 0, report(failures.leak, 'cross-tenant leaks'));
  });

  it('leaves the data unchanged after rejected requests and reads, and never touches tenant A', () => {
    assert.ok(stats.sent > 0, 'the campaign did not run');
    assert.equal(failures.data.length, 0, report(failures.data, 'unexpected data changes'));
  });

  it('gives every error a machine code', () => {
    assert.ok(stats.sent > 0, 'the campaign did not run');
    assert.equal(failures.code.length, 0, report(failures.code, 'errors without a machine code'));
  });
  it('keeps the metrics bounded: route patterns, root fields and catalog codes only', async (t) => {
    assert.ok(stats.sent > 0, 'the campaign did not run');
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    const series = (await response.text()).split('\n').filter((l) => l.startsWith('roster_'));
    const label = (metric: string, name: string) =>
      new Set(series.filter((l) => l.startsWith(`${metric}{`)).map((l) => new RegExp(`[{,]${name}="([^"]*)"`).exec(l)?.[1] ?? '(none)'));
    const routes = label('roster_http_requests_total', 'route');
    for (const route of routes) {
      assert.ok(route === 'unmatched' || route.startsWith('/'), `route label ${route}`);
      assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(route) && !route.includes('?'), `raw path as a route label: ${route}`);
    }
    const operations = label('roster_graphql_operations_total', 'operation');
    for (const op of operations) assert.match(op, /^(other|[A-Za-z_]+(\+[A-Za-z_]+){0,2}(\+more)?)$/, `operation label ${op}`);
    const codes = label('roster_errors_total', 'code');
    for (const code of codes) assert.ok(code in ErrorCodes, `error code ${code}`);
    t.diagnostic(`metrics after the campaign: ${series.length} series, ${routes.size} routes, ${operations.size} operations, ${codes.size} codes`);
    // Routes: at most Roster's own (about 40), whatever paths were requested; series: a few thousand at most.
    assert.ok(routes.size <= 60, `${routes.size} route labels`);
    assert.ok(series.length < 5000, `${series.length} series`);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The fixture: tenant A full of markers, tenant B with the token holders, tenant C, through the public API

type Tokens = Record<'bAdmin' | 'bManager' | 'bPlain', string>;

/** Tokens of the holders, in the order bAdmin, bManager, bPlain. */
async function issueTokens(server: TestServer, holders: readonly string[]): Promise<Tokens> {
  return { bAdmin: await userToken(server, holders[0]!), bManager: await userToken(server, holders[1]!), bPlain: await userToken(server, holders[2]!) };
}

async function seed(server: TestServer): Promise<{ fixture: FuzzFixture; tenantA: string; aIds: Set<string>; tokens: Tokens }> {
  const db = server.database.db;
  let n = 0;
  const m = () => `qzmarka${n++}x`;
  const createTenant = async (name: string, reference: string) =>
    (await gqlOk<{ createTenant: { id: string } }>(server, 'mutation($t: TenantCreateDto!) { createTenant(tenant: $t) { id } }', { t: { name, reference } })).createTenant.id;
  const createRole = async (role: Record<string, unknown>) =>
    (await gqlOk<{ createRole: { id: string; key: string } }>(server, 'mutation($r: RoleCreateDto!) { createRole(role: $r) { id key } }', { r: role })).createRole;
  const platformGroup = async (tenantId: string) =>
    (await sql<{ id: string }>`select id from user_groups where tenant_id = ${tenantId} and is_unmodifiable`.execute(db)).rows.map((r) => r.id);

  // Tenant A: every text holds a marker.
  const a = await createTenant(`Tenant ${m()}`, `${m()}-tenant`);
  const usersA: CreatedUser[] = [];
  for (let i = 0; i < 5; i++) {
    usersA.push(await createUser(server, { tenantId: a, reference: `${m()}-ref`, email: `${m()}@example.test`, firstName: `Ann ${m()}`, lastName: m(), customData: { secret: m(), nested: { deeper: m() } } }));
  }
  const groupsA = [];
  for (let i = 0; i < 4; i++) groupsA.push(await createGroup(server, { tenantId: a, name: `Group ${m()}`, reference: `${m()}-gref`, description: `About ${m()}` }));
  await addMembers(server, groupsA[0]!.id, usersA.slice(0, 3).map((u) => u.id));
  await addMembers(server, groupsA[1]!.id, [usersA[3]!.id]);
  await addManagers(server, groupsA[1]!.id, [usersA[0]!.id]);
  await addMembers(server, (await platformGroup(a))[0]!, [usersA[4]!.id]);
  const roleA = await createRole({ key: `${m()}-key`, name: `Role ${m()}`, description: m(), reference: m(), tenantId: a, permissions: [{ permission: 'USER_MANAGEMENT', actions: ['READ'] }] });
  await gqlOk(server, 'mutation($u: ID!, $k: [String!]!) { assignRolesToUser(userId: $u, roleKeys: $k) }', { u: usersA[1]!.id, k: [roleA.key] });
  const roles = await rest<unknown>(server, 'PATCH', `/v3/companies/${a}/user-groups/${groupsA[0]!.id}/roles`, { rolesToAdd: [{ roleId: roleA.id }, { roleId: '00000000-0000-7000-8000-000000000004' }] });
  assert.equal(roles.status, 200, JSON.stringify(roles.body));

  // Tenant B: the token holders, a group bManager manages, bAdmin in the platform group (company-admin).
  const b = await createTenant('Tenant B', unique('b-tenant'));
  const bUser = (name: string) => createUser(server, { tenantId: b, reference: unique(`b-${name}`), email: `${unique(`b-${name}`)}@example.test`, firstName: name });
  const [bAdmin, bManager, bPlain] = [await bUser('admin'), await bUser('manager'), await bUser('plain')];
  const othersB = [await bUser('one'), await bUser('two'), await bUser('three')];
  const managed = await createGroup(server, { tenantId: b, name: unique('b-managed'), reference: unique('b-managed') });
  const groupsB = [managed, await createGroup(server, { tenantId: b, name: unique('b-team') }), await createGroup(server, { tenantId: b, name: unique('b-dept') })];
  const adminsB = (await platformGroup(b))[0]!;
  assert.ok(adminsB, "tenant B's platform group");
  await addMembers(server, adminsB, [bAdmin.id]);
  await addManagers(server, managed.id, [bManager.id]);
  await addMembers(server, managed.id, [bPlain.id, othersB[0]!.id]);
  await addMembers(server, groupsB[1]!.id, othersB.map((u) => u.id));
  await createRole({ key: unique('b-role'), name: unique('B role'), tenantId: b, permissions: [{ permission: 'ACCESS_MANAGEMENT', actions: ['READ'] }] });

  // Tenant C: the super-admin's second tenant, for its own cross-tenant attempts.
  const c = await createTenant('Tenant C', unique('c-tenant'));
  const usersC = [];
  for (let i = 0; i < 3; i++) usersC.push(await createUser(server, { tenantId: c, reference: unique('c-user') }));
  const groupC = await createGroup(server, { tenantId: c, name: unique('c-group') });
  await addMembers(server, groupC.id, usersC.slice(0, 2).map((u) => u.id));
  await createGroup(server, { tenantId: c, name: unique('c-other') });

  const def = (await sql<{ id: string }>`select id from tenants where is_default`.execute(db)).rows[0]?.id;
  assert.ok(def, 'the default tenant');

  const idsOf = async (tenantId: string | null): Promise<Record<Kind, string[]>> => {
    const users = await sql<{ id: string }>`select id from users where tenant_id = ${tenantId} order by id`.execute(db);
    const groups = await sql<{ id: string }>`select id from user_groups where tenant_id = ${tenantId} order by id`.execute(db);
    const roleRows = tenantId === null ? await sql<{ id: string }>`select id from roles where tenant_id is null order by id`.execute(db) : await sql<{ id: string }>`select id from roles where tenant_id = ${tenantId} order by id`.execute(db);
    return { user: users.rows.map((r) => r.id), group: groups.rows.map((r) => r.id), role: roleRows.rows.map((r) => r.id), tenant: tenantId ? [tenantId] : [] };
  };
  const textOf = async (tenantId: string): Promise<TextPool> => {
    const users = await sql<{ reference: string; email: string; first_name: string | null }>`select reference, email, first_name from users where tenant_id = ${tenantId} order by id`.execute(db);
    const groups = await sql<{ reference: string; name: string }>`select reference, name from user_groups where tenant_id = ${tenantId} order by id`.execute(db);
    const roleRows = await sql<{ key: string; name: string }>`select key, name from roles where tenant_id = ${tenantId} order by id`.execute(db);
    return {
      userRefs: users.rows.map((r) => r.reference),
      groupRefs: groups.rows.map((r) => r.reference),
      emails: users.rows.map((r) => r.email),
      names: [...users.rows.flatMap((r) => (r.first_name ? [r.first_name] : [])), ...groups.rows.map((r) => r.name), ...roleRows.rows.map((r) => r.name)],
      roleKeys: roleRows.rows.map((r) => r.key),
    };
  };
  const ids: Record<Scope, Record<Kind, string[]>> = { a: await idsOf(a), b: await idsOf(b), c: await idsOf(c), def: await idsOf(def), platform: await idsOf(null) };
  const text: Record<TextScope, TextPool> = { a: await textOf(a), b: await textOf(b), c: await textOf(c) };
  const platformRoleKeys = (await sql<{ key: string }>`select key from roles where tenant_id is null order by key`.execute(db)).rows.map((r) => r.key);
  const holders = [bAdmin, bManager, bPlain];
  const aIds = new Set([...ids.a.user, ...ids.a.group, ...ids.a.role, a].map((id) => id.toLowerCase()));
  assert.ok(aIds.size >= 12, `tenant A's ids: ${aIds.size}`);

  const tokens = await issueTokens(server, holders.map((u) => u.id));
  const fixture: FuzzFixture = {
    ids,
    text,
    protectedIds: [...holders.map((u) => u.id), adminsB, managed.id],
    protectedText: [...holders.flatMap((u) => [u.reference, u.email]), managed.reference],
    managedGroupId: managed.id,
    platformRoleKeys,
    limits: {
      bodyBytes: server.config.limits.bodyBytes,
      batchMax: server.config.limits.batchMax,
      queryDepth: server.config.limits.queryDepth,
      queryFields: server.config.limits.queryFields,
    },
  };
  return { fixture, tenantA: a, aIds, tokens };
}
