import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.ts';
import { databaseInfo, type Db } from './db/database.ts';
import { runAsStatementOwner } from './db/pglite-thread-dialect.ts';
import { isAppError } from './errors.ts';
import { createMetrics, noteErrorCode, registerMetrics } from './observability/metrics.ts';
import { buildServices, type Services } from './services/index.ts';
import { registerGraphql } from './transports/graphql/plugin.ts';
import { registerOpenApi } from './transports/rest/openapi.ts';
import { registerRest } from './transports/rest/plugin.ts';
import { registerAuthRoutes } from './transports/http/auth-routes.ts';
import { registerHealthRoutes } from './transports/http/health-routes.ts';
import { registerLandingPage } from './transports/http/landing-page.ts';
import { registerGraphiql } from './transports/graphql/graphiql.ts';
import { registerIdempotency } from './transports/http/idempotency.ts';
import { registerProtection } from './transports/http/protection.ts';
import { LazySchemas } from './transports/http/lazy-schemas.ts';
import { clientErrorHandler, frameworkErrors, notFoundHandler } from './transports/http/framework-errors.ts';
import { CLIENT_REQUEST_ID_HEADER, clientRequestIdOf, newRequestId, registerRequestIds } from './transports/http/request-id.ts';
import { FORBIDDEN_KEYS_MESSAGE, forbiddenKeyPath, mayHoldForbiddenKey, registerJsonBodyParser, unsupportedMediaTypeOf } from './transports/http/json-body.ts';

export interface AppDeps {
  readonly config: Config;
  readonly db: Db;
  readonly logger?: FastifyServerOptions['logger'];
}

export interface RosterApp {
  readonly server: FastifyInstance;
  readonly services: Services;
  /** The super-admin key generated at first start, when `ROSTER_API_KEY` was unset; print it once. */
  readonly generatedApiKey: string | undefined;
  /** The route schemas, compiled on first use or by `warm()` (started when the server listens). */
  readonly schemas: LazySchemas;
}

// The SDK's GraphQL path and ours serve the same endpoint.
const GRAPHQL_ALIASES = new Set(['/v01/server/graphql', '/v01/server/graphql/', '/graphql/']);

/** Builds the HTTP app on an open, migrated database; the caller decides whether to listen. */
export async function buildApp(deps: AppDeps): Promise<RosterApp> {
  const { config, db } = deps;
  const services = buildServices(db, config);
  const { generatedApiKey } = await services.auth.init();
  await services.tenants.defaultTenant();

  let closing = false;
  const metrics = createMetrics(config, db);
  // OpenTelemetry is imported only when an OTLP endpoint is configured: without one, nothing of it is loaded.
  const tracing = config.tracing ? (await import('./observability/tracing.ts')).startTracing(config.tracing, db) : undefined;
  const schemas = new LazySchemas();
  const server = Fastify({
    // Start-up answers first and compiles the REST schemas afterwards (see lazy-schemas.ts).
    schemaController: { compilersFactory: schemas.compilersFactory },
    // Credentials never reach a log line, even if a serializer starts logging headers.
    logger: deps.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers["roq-platform-authorization"]', 'req.headers["roq-platform-server-authorization"]', 'req.headers["idempotency-key"]'],
      ...(config.logFormat === 'pretty' ? { stream: await prettyLogStream() } : {}),
    },
    bodyLimit: config.limits.bodyBytes,
    // Unknown properties are refused, not silently dropped, and types are not coerced: bad input is an error.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    // The request id is always the server's own (logs, the x-request-id answer, the audit log): a caller cannot
    // pick the id its request is recorded under. Its own x-request-id, if well-formed, is kept beside it as
    // `clientRequestId` (request-id.ts): bound to the request's log lines here, echoed as x-client-request-id.
    requestIdHeader: false,
    genReqId: newRequestId,
    childLoggerFactory: (logger, bindings, options, raw) => {
      const clientRequestId = clientRequestIdOf(raw.headers);
      return logger.child(clientRequestId === undefined ? bindings : { ...bindings, clientRequestId }, options);
    },
    // A URL the router cannot decode is answered outside any route, where no hook runs: counted here.
    frameworkErrors: (error, request, reply) => {
      frameworkErrors(error, request, reply);
      metrics?.recordResponse(request, reply);
    },
    // Errors of the HTTP parser come before any request exists: counted here, since no hook sees them.
    clientErrorHandler: (err, socket) => {
      const code = clientErrorHandler(err, socket);
      if (code !== undefined) metrics?.errors.inc({ code });
    },
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      return GRAPHQL_ALIASES.has(path) ? `/graphql${q < 0 ? '' : url.slice(q)}` : url;
    },
  });

  registerRequestIds(server);
  // JSON bodies: keys named __proto__ or constructor are refused by name (json-body.ts).
  registerJsonBodyParser(server);
  if (metrics) registerMetrics(server, metrics, config, db);
  // Before every other hook: the request's span must be current in the hooks that run statements.
  tracing?.registerHttp(server);
  // The embedded database's one connection is shared fairly between requests (pglite-thread-dialect.ts); from here
  // on, each request's statements wait their turn as the request's own.
  if (databaseInfo(db)?.kind === 'pglite') server.addHook('preValidation', (_request, _reply, done) => runAsStatementOwner(done));

  // The hooks every request passes through take a callback, not a promise: an async hook costs each request a
  // promise and a turn of the microtask queue even when it has nothing to do.
  server.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    const clientRequestId = request.clientRequestId;
    if (clientRequestId !== undefined) reply.header(CLIENT_REQUEST_ID_HEADER, clientRequestId);
    // GET /graphql from a browser opens GraphiQL.
    if (config.graphiql && request.method === 'GET' && request.url === '/graphql' && (request.headers.accept ?? '').includes('text/html')) {
      reply.redirect('/graphiql');
      return;
    }
    done();
  });
  server.addHook('onListen', async () => {
    void schemas.warm().catch((e: unknown) => server.log.error({ err: e }, 'a route schema failed to compile; that route answers 500'));
  });
  server.addHook('onClose', async () => {
    closing = true;
    services.auth.close();
  });

  // The seed's `userGroup(groupId)` sends the bare id as `variables`; read it as `{ id }`.
  server.addHook('preValidation', (request, reply, done) => {
    if (request.routeOptions.url !== '/graphql') return done();
    const refuse = (field: string, message: string) => {
      noteErrorCode(request, 'BAD_USER_INPUT');
      const response = { statusCode: 400, errorCode: 'BAD_USER_INPUT', message };
      reply.code(400).send({ data: null, errors: [{ message, extensions: { code: 'BAD_USER_INPUT', field, response } }] });
    };
    // GET /graphql?variables=…: the JSON body parser never saw them; the same keys are refused (json-body.ts).
    const getVariables = request.method === 'GET' ? (request.query as { variables?: unknown } | null)?.variables : undefined;
    if (typeof getVariables === 'string' && mayHoldForbiddenKey(getVariables)) {
      const key = forbiddenKeyPath(parseOrUndefined(getVariables));
      if (key !== undefined) return refuse(`variables.${key}`, `variables.${key}: ${FORBIDDEN_KEYS_MESSAGE}`);
    }
    if (typeof request.body !== 'object' || request.body === null) return done();
    const body = request.body as { query?: unknown; variables?: unknown; operationName?: unknown };
    if (typeof body.variables === 'string') body.variables = { id: body.variables };
    const problem =
      body.query !== undefined && typeof body.query !== 'string' ? 'query: must be a string'
      : body.variables != null && (typeof body.variables !== 'object' || Array.isArray(body.variables)) ? 'variables: must be an object'
      : body.operationName != null && typeof body.operationName !== 'string' ? 'operationName: must be a string'
      : undefined;
    if (problem) return refuse(problem.slice(0, problem.indexOf(':')), problem);
    done();
  });

  server.setErrorHandler((raised: Error, request, reply) => {
    // No route would have read the body: a wrong path or method is the answer, not what the body holds.
    if (request.is404 && /^FST_ERR_CTP_/.test(String((raised as { code?: unknown }).code))) return notFoundHandler(request, reply);
    const error = unsupportedMediaTypeOf(raised, request);
    if (isAppError(error)) {
      noteErrorCode(request, error.code);
      const response = { statusCode: error.status, errorCode: error.code, message: error.message };
      return reply.code(error.status).send({ data: null, errors: [{ message: error.message, extensions: { code: error.code, ...error.details, response } }] });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 413 || (error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      noteErrorCode(request, 'PAYLOAD_TOO_LARGE');
      return reply.code(413).send({ errors: [{ message: `Request body exceeds ${config.limits.bodyBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      noteErrorCode(request, 'BAD_USER_INPUT');
      return reply.code(status).send({ errors: [{ message: error.message, extensions: { code: 'BAD_USER_INPUT' } }] });
    }
    request.log.error({ err: error }, 'unhandled error');
    noteErrorCode(request, 'INTERNAL_SERVER_ERROR');
    return reply.code(500).send({ errors: [{ message: `Internal error; quote request id ${request.id}`, extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  });

  server.setNotFoundHandler(notFoundHandler);
  await registerProtection(server, services, config);
  registerIdempotency(server, services);
  await registerHealthRoutes(server, services.health, () => closing);
  await registerAuthRoutes(server, services);
  await registerOpenApi(server);
  await registerLandingPage(server, config);
  if (config.graphiql) await registerGraphiql(server);
  await registerRest(server, services, schemas);
  await registerGraphql(server, services, config);
  tracing?.registerGraphql(server);
  return { server, services, generatedApiKey, schemas };
}

/** pino-pretty, loaded only when asked for: a production server never reads it. */
async function prettyLogStream(): Promise<NodeJS.WritableStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true });
}

/** JSON text parsed, or undefined when it is not JSON (left for whoever reads it next to answer). */
function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
