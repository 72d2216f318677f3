/**
 * OpenTelemetry traces, exported over OTLP/HTTP (JSON) with a batch span processor. app.ts imports this module
 * dynamically, and only when an OTLP endpoint is configured: a Roster without one loads none of it, nor the SDK.
 *
 * Spans are made by hand at a few places, without auto-instrumentation or patching:
 * - one SERVER span per HTTP request, from routing to the response's last byte, continuing the caller's trace when
 *   the request carries a W3C `traceparent` (and `tracestate`);
 * - one INTERNAL span per executed GraphQL operation, child of the request's span;
 * - one CLIENT span per database statement run for the request, child of the GraphQL operation's span if it ran
 *   within it, else of the request's.
 *
 * Never recorded: parameter values, SQL text beyond its operation and first table, GraphQL documents and variables,
 * URLs (only route patterns), headers, client addresses, error messages (only machine codes).
 *
 * The request's spans reach the database observer through an AsyncLocalStorage entered in `onRequest` and again in
 * `preValidation` (the body is read in the socket's async context, which drops it). Nothing is registered globally
 * (no global tracer provider, propagator or context manager): several apps in one process each trace on their own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, trace, type Attributes, type HrTime, type Span, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, hrTime, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { TracingConfig } from '../config.ts';
import { observeQueries, type Db } from '../db/database.ts';
import { UNMEASURED_ROUTES, graphqlOperationOf, rootFieldsOf } from './metrics.ts';
import { VERSION } from '../version.ts';
import { summarizeStatement, type StatementSummary } from './sql-summary.ts';

// Attributes the semantic conventions still call incubating: written out, as their guidance asks.
const ATTR_DB_SYSTEM = 'db.system';
const ATTR_GRAPHQL_OPERATION_NAME = 'graphql.operation.name';
const ATTR_GRAPHQL_OPERATION_TYPE = 'graphql.operation.type';
// Roster's own.
const ATTR_REQUEST_ID = 'roster.request.id';
const ATTR_ERROR_CODES = 'roster.error.codes';
const ATTR_ROOT_FIELDS = 'roster.graphql.root_fields';
const ATTR_OPERATION = 'roster.graphql.operation';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
/** Most root fields listed on a GraphQL span, and the longest client-chosen operation name kept. */
const ROOT_FIELDS_MAX = 20;
const OPERATION_NAME_MAX = 128;
/** Distinct SQL texts whose summaries are kept (Roster runs a few hundred; `IN ($1, …)` lists add more). */
const SUMMARY_CACHE_MAX = 2000;
/** The longest a shutdown waits for the last spans to be exported (a collector that does not answer). */
const SHUTDOWN_TIMEOUT_MS = 5000;
/** At most one log line per this many ms about failed exports. */
const EXPORT_WARNING_INTERVAL_MS = 60_000;

/** The spans of one request being traced (its root span is recording). */
interface RequestTrace {
  readonly owner: RosterTracing;
  readonly http: Span;
  /** The GraphQL operation's span while it executes, else the request's. */
  current: Span;
  graphql: Span | undefined;
  /** When the GraphQL operation's span started (performance.now()). */
  graphqlStart: number;
  ended: boolean;
  /**
   * Wall-clock time minus performance.now(), read once per request: every span of the request is dated with it, so
   * they nest exactly (the SDK reads Date.now(), to the millisecond, for each span on its own).
   */
  readonly clockOffset: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's spans when it is traced (OpenTelemetry on, and the request sampled). */
    otelTrace?: RequestTrace;
  }
}

const requestContext = new AsyncLocalStorage<RequestTrace>();
/**
 * Traced requests in flight, in every app of the process. On Node 20 an enabled AsyncLocalStorage runs a hook for
 * every promise and callback of the process, traced or not (tens of µs per request, see docs/observability.md), so it
 * is disabled whenever no traced request is in flight: with a sampling ratio below 1 and few concurrent requests, the
 * requests that are not sampled then pay nothing for it.
 */
let tracedInFlight = 0;

/** Starts the tracer provider and its exporter for one app; `register*` then hooks it into the app. */
export function startTracing(config: TracingConfig, db: Db): RosterTracing {
  return new RosterTracing(config, db);
}

export class RosterTracing {
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  readonly #propagator = new W3CTraceContextPropagator();
  readonly #db: Db;
  readonly #exporter: WarningExporter;
  readonly #summaries = new Map<string, StatementSummary>();
  readonly #operations = new WeakMap<DocumentNode, Map<string | undefined, Attributes | null>>();

  constructor(config: TracingConfig, db: Db) {
    this.#db = db;
    this.#exporter = new WarningExporter(
      new OTLPTraceExporter({ url: config.endpoint, headers: { ...config.headers }, timeoutMillis: config.exportTimeoutMillis }),
    );
    this.#provider = new BasicTracerProvider({
      resource: defaultResource().merge(
        resourceFromAttributes({ ...config.resourceAttributes, [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: VERSION }),
      ),
      sampler: samplerOf(config),
      spanProcessors: [new BatchSpanProcessor(this.#exporter, { ...config.batch })],
    });
    this.#tracer = this.#provider.getTracer('@roster/server', VERSION);
  }

  /**
   * The request span and the database spans. Call before any other hook is added, so the request's spans are
   * current in every hook that runs statements (authentication, rate limits, idempotency).
   */
  registerHttp(app: FastifyInstance): void {
    this.#exporter.log = app.log;
    app.decorateRequest('otelTrace', undefined);
    app.addHook('onRequest', (request, _reply, done) => {
      const state = this.#startRequest(request);
      if (state === undefined) return done();
      request.otelTrace = state;
      tracedInFlight++;
      requestContext.run(state, done);
    });
    // The body was read in the socket's context: the rest of the request runs in its own again.
    app.addHook('preValidation', (request, _reply, done) => {
      const state = request.otelTrace;
      if (state === undefined) return done();
      requestContext.run(state, done);
    });
    app.addHook('onResponse', (request, reply, done) => {
      const state = request.otelTrace;
      if (state !== undefined) this.#endRequest(state, request, reply.statusCode);
      done();
    });
    // A client that goes away before the response: the span ends then, marked as such.
    app.addHook('onRequestAbort', (request, done) => {
      const state = request.otelTrace;
      if (state !== undefined && !state.ended) {
        state.http.setAttribute(ATTR_ERROR_TYPE, 'aborted');
        this.#endRequest(state, request, undefined);
      }
      done();
    });

    const stopObserving = observeQueries(this.#db, (ms, failed, sqlText, error) => {
      const state = requestContext.getStore();
      if (state !== undefined && state.owner === this && !state.ended) this.#statement(state, ms, failed, sqlText, error);
    });
    app.addHook('onClose', async () => {
      stopObserving();
      // Flushes what the batch processor still holds, then closes the exporter. An unreachable collector must not
      // fail the shutdown (the database still has to be closed): its spans are lost, and that is logged.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${SHUTDOWN_TIMEOUT_MS} ms`)), SHUTDOWN_TIMEOUT_MS);
        timer.unref();
      });
      try {
        await Promise.race([this.#provider.shutdown(), timeout]);
      } catch (e) {
        app.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'OpenTelemetry: exporting the last spans at shutdown failed; they are dropped');
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /** The GraphQL operation's span: from the start of execution (after parsing, validation and the cost check) to its result. */
  registerGraphql(app: FastifyInstance): void {
    app.graphql.addHook('preExecution', async (_schema, document, context) => {
      const request = (context as { reply?: FastifyReply }).reply?.request;
      const state = request?.otelTrace;
      if (request === undefined || state === undefined || state.graphql !== undefined || state.ended) return;
      const source = (request.method === 'GET' ? request.query : request.body) as { operationName?: unknown } | null | undefined;
      const attributes = this.#operationAttributes(document, typeof source?.operationName === 'string' ? source.operationName : undefined);
      if (attributes === null) return;
      const now = performance.now();
      const span = this.#tracer.startSpan(
        `${String(attributes[ATTR_GRAPHQL_OPERATION_TYPE])} ${String(attributes[ATTR_OPERATION])}`,
        { kind: SpanKind.INTERNAL, attributes, startTime: timeOf(state.clockOffset, now) },
        trace.setSpan(ROOT_CONTEXT, state.http),
      );
      state.graphql = span;
      state.graphqlStart = now;
      state.current = span;
    });
    // After execution and the rendering of its errors (so their codes are known), before the response is written.
    app.graphql.addHook('onResolution', async (_execution, context) => {
      const request = (context as { reply?: FastifyReply }).reply?.request;
      const state = request?.otelTrace;
      if (request !== undefined && state !== undefined) this.#endGraphql(state, request);
    });
  }

  #startRequest(request: FastifyRequest): RequestTrace | undefined {
    const route = request.routeOptions.url;
    // Probes and the metrics scrape would drown the requests that matter.
    if (route !== undefined && UNMEASURED_ROUTES.has(route)) return undefined;
    const known = KNOWN_METHODS.has(request.method);
    const method = known ? request.method : '_OTHER';
    const attributes: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_REQUEST_ID]: request.id };
    if (route !== undefined) attributes[ATTR_HTTP_ROUTE] = route;
    const name = known ? (route === undefined ? method : `${method} ${route}`) : 'HTTP';
    const parent = this.#propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
    const now = performance.now();
    const clockOffset = Date.now() - (performance.timeOrigin + now);
    const span = this.#tracer.startSpan(name, { kind: SpanKind.SERVER, attributes, startTime: timeOf(clockOffset, now) }, parent);
    // Not sampled: nothing below it would be either; the request runs untouched.
    if (!span.isRecording()) return undefined;
    return { owner: this, http: span, current: span, graphql: undefined, graphqlStart: 0, ended: false, clockOffset };
  }

  #endRequest(state: RequestTrace, request: FastifyRequest, status: number | undefined): void {
    if (state.ended) return;
    this.#endGraphql(state, request);
    state.ended = true;
    // Statements its handler may still run (after an abort) are then not traced.
    if (--tracedInFlight === 0) requestContext.disable();
    const span = state.http;
    const codes = request.errorCodes;
    if (codes !== undefined && codes.length > 0) span.setAttribute(ATTR_ERROR_CODES, [...codes]);
    if (status !== undefined) {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 400) span.setAttribute(ATTR_ERROR_TYPE, codes?.[0] ?? String(status));
      // A server span is an error for a 5xx only: a 4xx is the client's (the semantic conventions' rule).
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(timeOf(state.clockOffset, performance.now()));
  }

  #endGraphql(state: RequestTrace, request: FastifyRequest): void {
    const span = state.graphql;
    if (span === undefined || state.current !== span) return;
    state.current = state.http;
    const codes = request.errorCodes;
    if (codes !== undefined && codes.length > 0) {
      span.setAttribute(ATTR_ERROR_CODES, [...codes]);
      span.setAttribute(ATTR_ERROR_TYPE, codes[0]!);
      if (codes.includes('INTERNAL_SERVER_ERROR')) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(timeOf(state.clockOffset, performance.now()));
  }

  #statement(state: RequestTrace, ms: number, failed: boolean, sqlText: string, error: unknown): void {
    let summary = this.#summaries.get(sqlText);
    if (summary === undefined) {
      summary = summarizeStatement(sqlText);
      if (this.#summaries.size < SUMMARY_CACHE_MAX) this.#summaries.set(sqlText, summary);
    }
    const attributes: Attributes = {
      [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
      [ATTR_DB_SYSTEM]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
      [ATTR_DB_OPERATION_NAME]: summary.operation,
      [ATTR_DB_QUERY_SUMMARY]: summary.summary,
    };
    if (summary.collection !== undefined) attributes[ATTR_DB_COLLECTION_NAME] = summary.collection;
    // Told once the statement is over: the span is dated back by the database's time. It belongs to the GraphQL
    // operation if it ran within it; one started before (authentication) or still running after (a write the
    // request did not wait for, such as an API key's last use) belongs to the request.
    const end = performance.now();
    const start = end - ms;
    const parent = state.current !== state.http && start >= state.graphqlStart ? state.current : state.http;
    const span = this.#tracer.startSpan(
      summary.summary,
      { kind: SpanKind.CLIENT, attributes, startTime: timeOf(state.clockOffset, start) },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    if (failed) {
      // The SQLSTATE only: PostgreSQL's messages quote values (`Key (email)=(…) already exists`).
      const code = (error as { code?: unknown } | null | undefined)?.code;
      const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
      if (sqlState !== undefined) span.setAttribute(ATTR_DB_RESPONSE_STATUS_CODE, sqlState);
      span.setAttribute(ATTR_ERROR_TYPE, sqlState ?? '_OTHER');
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(timeOf(state.clockOffset, end));
  }

  /** The GraphQL span's attributes for an executed document, cached per document; null when no operation runs. */
  #operationAttributes(document: DocumentNode, operationName: string | undefined): Attributes | null {
    let byName = this.#operations.get(document);
    if (byName === undefined) {
      byName = new Map();
      this.#operations.set(document, byName);
    }
    const cached = byName.get(operationName);
    if (cached !== undefined) return cached;
    const operation = getOperationAST(document, operationName);
    const label = graphqlOperationOf(document, operationName);
    let attributes: Attributes | null = null;
    if (operation && label) {
      const fields = rootFieldsOf(document, operation);
      attributes = {
        [ATTR_GRAPHQL_OPERATION_TYPE]: operation.operation,
        [ATTR_OPERATION]: label.name,
        [ATTR_ROOT_FIELDS]: fields.length > ROOT_FIELDS_MAX ? fields.slice(0, ROOT_FIELDS_MAX) : fields,
      };
      const name = operation.name?.value;
      if (name !== undefined) attributes[ATTR_GRAPHQL_OPERATION_NAME] = name.slice(0, OPERATION_NAME_MAX);
    }
    // Bounded: a document normally has one operation, and each entry goes with its document.
    if (byName.size < 8) byName.set(operationName, attributes);
    return attributes;
  }
}

/** A performance.now() reading as wall-clock time, with the request's offset. */
const timeOf = (clockOffset: number, now: number): HrTime => hrTime(now + clockOffset);

function samplerOf(config: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
  }
}

/**
 * The OTLP exporter, logging failed exports (at most once a minute): without it they would be silent, since the SDK
 * reports them to OpenTelemetry's diagnostic logger, which Roster does not install (it is process-global).
 */
class WarningExporter implements SpanExporter {
  log: FastifyBaseLogger | undefined;
  #lastWarning = 0;
  #failed = 0;

  readonly inner: SpanExporter;

  constructor(inner: SpanExporter) {
    this.inner = inner;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.#failed += spans.length;
        const now = Date.now();
        if (now - this.#lastWarning >= EXPORT_WARNING_INTERVAL_MS) {
          this.#lastWarning = now;
          this.log?.warn({ droppedSpans: this.#failed, err: result.error?.message }, 'OpenTelemetry: exporting spans to the OTLP endpoint failed; they are dropped');
          this.#failed = 0;
        }
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
