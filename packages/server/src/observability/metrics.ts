import cluster from 'node:cluster';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Kind, getOperationAST, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config.ts';
import { databaseInfo, observeQueries, type Db } from '../db/database.ts';
import { Errors } from '../errors.ts';
import { metricsFromPrimary, reportToPrimary } from './cluster-metrics.ts';
import { VERSION } from '../version.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The machine error codes (`BAD_USER_INPUT`, …) this request's response renders, each once. */
    errorCodes?: string[];
    /** The GraphQL operation this request executed, as labelled for metrics (`users`, `createUser`, …). */
    graphqlOperation?: { readonly name: string; readonly type: string };
  }
}

/** Routes never counted in the request metrics: the scrape itself and the probes. */
export const UNMEASURED_ROUTES: ReadonlySet<string> = new Set(['/metrics', '/healthz', '/readyz']);

/** Most root field names in one `operation` label; a document with more is `a+b+c+more`. */
const ROOT_FIELDS_MAX = 3;
/** Most distinct `operation` labels per app; later new ones are counted as `other` (cardinality guard). */
const OPERATION_LABELS_MAX = 100;

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DB_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Records that the response to `request` renders the machine error `code`. Every place that renders an error
 * body calls it; `roster_errors_total` counts each code once per response when the response is sent.
 */
export function noteErrorCode(request: FastifyRequest, code: string): void {
  const codes = request.errorCodes;
  if (codes === undefined) request.errorCodes = [code];
  else if (!codes.includes(code)) codes.push(code);
}

const operationLabels = new WeakMap<DocumentNode, Map<string | undefined, { name: string; type: string } | null>>();

/**
 * The `operation` label of an executed document: the root field names of the operation that runs, sorted, distinct
 * and joined with `+` (`users`, `createUser`, `user+users`), never the client-chosen operation name. Parsed
 * documents are cached by Mercurius, so the answer is cached per document object.
 */
export function graphqlOperationOf(document: DocumentNode, operationName: string | undefined): { name: string; type: string } | null {
  let byName = operationLabels.get(document);
  if (byName === undefined) {
    byName = new Map();
    operationLabels.set(document, byName);
  }
  const cached = byName.get(operationName);
  if (cached !== undefined) return cached;
  const operation = getOperationAST(document, operationName);
  let label: { name: string; type: string } | null = null;
  if (operation) {
    const sorted = rootFieldsOf(document, operation);
    const name = sorted.length === 0 ? 'none' : sorted.length <= ROOT_FIELDS_MAX ? sorted.join('+') : `${sorted.slice(0, ROOT_FIELDS_MAX).join('+')}+more`;
    label = { name, type: operation.operation };
  }
  // Bounded: a document normally has one operation, and each entry goes with its document.
  if (byName.size < 8) byName.set(operationName, label);
  return label;
}

/** The root field names of `operation`, a definition of `document`: distinct and sorted, fragments at the root followed. */
export function rootFieldsOf(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const names = new Set<string>();
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) names.add(s.name.value);
      else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet, seen);
      else if (!seen.has(s.name.value)) {
        const fragment = fragments.get(s.name.value);
        if (fragment) visit(fragment.selectionSet, new Set([...seen, s.name.value]));
      }
    }
  };
  visit(operation.selectionSet, new Set());
  return [...names].sort();
}

let processRegistry: Registry | undefined;

/**
 * The process's own metrics (`roster_process_*`, `roster_nodejs_*`), collected once per process: they describe the
 * process, not an app, and each collection keeps an event-loop monitor and a GC observer running for good.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'roster_' });
  }
  return processRegistry;
}

/** One app's metrics, in a registry of its own (several apps in one process never collide). */
export class RosterMetrics {
  readonly registry = new Registry();
  readonly #operationLabels = new Set<string>();

  readonly httpRequests = new Counter({
    name: 'roster_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern ("unmatched" when no route matched) and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'roster_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response, by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  readonly graphqlOperations = new Counter({
    name: 'roster_graphql_operations_total',
    help: 'GraphQL operations executed, by root field names ("users", "createUser", "a+b" for several) and operation type.',
    labelNames: ['operation', 'type'] as const,
    registers: [this.registry],
  });
  readonly graphqlDuration = new Histogram({
    name: 'roster_graphql_operation_duration_seconds',
    help: 'Time from receiving a GraphQL request to sending its response, by root field names.',
    labelNames: ['operation'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'roster_errors_total',
    help: 'Responses carrying an error, by machine error code (BAD_USER_INPUT, NOT_FOUND, ...); each code once per response.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly dbQueryDuration = new Histogram({
    name: 'roster_db_query_duration_seconds',
    help: 'Time the database took for each statement (transaction control included, failures included).',
    buckets: DB_BUCKETS,
    registers: [this.registry],
  });

  constructor(
    database: 'pglite' | 'postgresql',
    pool?: { readonly totalCount: number; readonly idleCount: number; readonly waitingCount: number },
    /** A worker of a cluster (ROSTER_WORKERS > 1): scrapes answer with every worker's metrics, summed. */
    private readonly clustered = false,
  ) {
    new Gauge({
      name: 'roster_info',
      help: 'Always 1: the database Roster runs on and its version.',
      labelNames: ['database', 'version'] as const,
      registers: [this.registry],
      // The same in every worker of a cluster: taken once, not summed.
      aggregator: 'first',
    }).set({ database, version: VERSION }, 1);
    if (clustered) reportToPrimary([processMetrics(), this.registry]);
    if (pool) {
      const gauge = (name: string, help: string, read: () => number) =>
        new Gauge({
          name,
          help,
          registers: [this.registry],
          collect() {
            this.set(read());
          },
        });
      gauge('roster_db_pool_total', 'PostgreSQL connections open in the pool (idle and in use).', () => pool.totalCount);
      gauge('roster_db_pool_idle', 'PostgreSQL connections open and idle in the pool.', () => pool.idleCount);
      gauge('roster_db_pool_waiting', 'Queries waiting for a PostgreSQL connection from the pool.', () => pool.waitingCount);
    }
  }

  /**
   * Counts a response once it is sent: its error codes, and (unless it is a probe or the scrape) the request by
   * route pattern and, for GraphQL, by operation.
   */
  recordResponse(request: FastifyRequest, reply: FastifyReply): void {
    const codes = request.errorCodes;
    if (codes !== undefined) for (const code of codes) this.errors.inc({ code });
    const route = request.routeOptions.url;
    if (route !== undefined && UNMEASURED_ROUTES.has(route)) return;
    const seconds = reply.elapsedTime / 1000;
    const method = request.method;
    const label = route ?? 'unmatched';
    this.httpRequests.inc({ method, route: label, status: reply.statusCode });
    this.httpDuration.observe({ method, route: label }, seconds);
    const operation = request.graphqlOperation;
    if (operation !== undefined) {
      const name = this.operationLabel(operation.name);
      this.graphqlOperations.inc({ operation: name, type: operation.type });
      this.graphqlDuration.observe({ operation: name }, seconds);
    }
  }

  /** `name`, or `other` once the app has seen OPERATION_LABELS_MAX distinct operation labels. */
  operationLabel(name: string): string {
    if (this.#operationLabels.has(name)) return name;
    if (this.#operationLabels.size >= OPERATION_LABELS_MAX) return 'other';
    this.#operationLabels.add(name);
    return name;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition: the process's metrics, then the app's. */
  async render(): Promise<string> {
    if (this.clustered) return metricsFromPrimary();
    const [process, app] = await Promise.all([processMetrics().metrics(), this.registry.metrics()]);
    return `${process}\n${app}`;
  }
}

/** The metrics for an app on `db`, or undefined when `ROSTER_METRICS=false`. */
export function createMetrics(config: Config, db: Db): RosterMetrics | undefined {
  if (!config.metrics.enabled) return undefined;
  const info = databaseInfo(db);
  // A Kysely not opened by openDatabase (none in Roster itself): the configuration says which database it is.
  const kind = info ? (info.kind === 'postgres' ? 'postgresql' : 'pglite') : config.databaseUrl ? 'postgresql' : 'pglite';
  return new RosterMetrics(kind, info?.pool, config.workers > 1 && cluster.isWorker);
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/**
 * `GET /metrics` and the hooks that feed it: request counts and latencies by route pattern, GraphQL operations,
 * error codes, and database statement times.
 */
export function registerMetrics(app: FastifyInstance, metrics: RosterMetrics, config: Config, db: Db): void {
  const stopObserving = observeQueries(db, (ms) => metrics.dbQueryDuration.observe(ms / 1000));
  app.addHook('onClose', async () => stopObserving());

  // Declared up front, so setting them does not change the shape of every request object.
  app.decorateRequest('errorCodes', undefined);
  app.decorateRequest('graphqlOperation', undefined);
  app.addHook('onResponse', (request, reply, done) => {
    metrics.recordResponse(request, reply);
    done();
  });

  const tokenHash = config.metrics.token === undefined ? undefined : sha256(config.metrics.token);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (tokenHash) {
      const match = /^Bearer\s+(\S+)$/i.exec((request.headers.authorization ?? '').trim());
      if (!match?.[1] || !timingSafeEqual(sha256(match[1]), tokenHash)) {
        reply.header('www-authenticate', 'Bearer realm="metrics"');
        throw Errors.unauthenticated('GET /metrics needs Authorization: Bearer <ROSTER_METRICS_TOKEN>');
      }
    }
    reply.header('content-type', metrics.contentType).header('cache-control', 'no-store');
    try {
      return await metrics.render();
    } catch (e) {
      // In a cluster the scrape needs the primary and every worker; a scraper retries on its next interval.
      request.log.warn({ err: e }, 'metrics unavailable');
      return reply.code(503).header('content-type', 'text/plain; charset=utf-8').send(`# metrics unavailable: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  });
}
