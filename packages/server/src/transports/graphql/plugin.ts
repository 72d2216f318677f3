import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import mercurius from 'mercurius';
import type { Config } from '../../config.ts';
import type { Services } from '../../services/index.ts';
import { RequestLoaders } from './loaders.ts';
import { requireActor } from '../http/protection.ts';
import { requestContext } from '../http/request-id.ts';
import { forbiddenKeysRule, unsupportedMediaTypeOf } from '../http/json-body.ts';
import { isVariableCoercionError, renderError, variableProblems } from './errors.ts';
import { cachedQueryCost, maxFieldsRule } from './limits.ts';
import { Errors } from '../../errors.ts';
import { buildResolvers, type RosterGraphqlContext } from './resolvers.ts';
import { graphqlOperationOf, noteErrorCode } from '../../observability/metrics.ts';

export const schemaSdl = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

/** Mounts GraphQL at `/graphql` (and `/v01/server/graphql`, rewritten in app.ts). */
export async function registerGraphql(app: FastifyInstance, services: Services, config: Config): Promise<void> {
  await app.register(mercurius, {
    schema: schemaSdl,
    resolvers: buildResolvers(services),
    path: '/graphql',
    // GraphiQL is Roster's own page (graphiql.ts): Mercurius's loads its scripts from a CDN.
    graphiql: false,
    // graphql-jit compiles each query after its first use: most of Mercurius's speed on repeated queries.
    jit: 1,
    queryDepth: config.limits.queryDepth,
    validationRules: [maxFieldsRule(config.limits.queryFields), forbiddenKeysRule],
    context: (request: FastifyRequest): RosterGraphqlContext => {
      const roster = requestContext(request);
      return {
        roster,
        loaders: new RequestLoaders(services, (ids) => services.roles.countUsers(roster, ids)),
      };
    },
    errorFormatter: (execution, context) => {
      const request = (context as { reply?: FastifyReply } | undefined)?.reply?.request;
      const log = request?.log ?? app.log;
      const requestId = request?.id ?? 'unknown';
      const phase = execution.data === undefined ? 'request' : 'execution';
      const params = request ? graphqlParamsOf(request) : {};
      let errors = flattenErrors(execution.errors ?? []);
      // A body Fastify has no parser for: 415, saying to send JSON.
      if (request) {
        errors = errors.map((e) => {
          const original = (e as { originalError?: unknown }).originalError ?? e;
          const mapped = unsupportedMediaTypeOf(original, request);
          return mapped === original ? e : mapped;
        });
      }
      // Variables refused before any resolver ran: each problem named by its path in the variables (`u.email`).
      if (phase === 'request' && errors.some(isVariableCoercionError)) {
        const problems = variableProblems(app.graphql.schema, params.query, params.operationName, params.variables);
        if (problems.length > 0) errors = [...errors.filter((e) => !isVariableCoercionError(e)), ...problems];
      }
      const rendered = errors.map((e) => renderError(e, log, requestId, phase, params.variables));
      if (request) for (const r of rendered) noteErrorCode(request, r.code);
      // GraphQL-over-HTTP: when something was answered (or applied: mutation results are nullable, so one failed
      // mutation leaves the others visible), 200; when nothing was, the error's own status.
      const statuses = new Set(rendered.map((r) => r.status));
      // An error below a root field means that field's resolver ran: a mutation was applied even if an error in
      // its selection nulled the answer. That is a 200 too, never a status saying nothing happened.
      const nested = rendered.some((r) => (r.rendered.path?.length ?? 0) > 1);
      const answered = nested || (execution.data != null && Object.values(execution.data).some((v) => v !== null));
      const status = answered ? 200 : statuses.size === 1 ? [...statuses][0]! : 400;
      return {
        statusCode: status,
        response: { data: execution.data ?? null, errors: rendered.map((r) => r.rendered) },
      };
    },
  });

  // The cost bound needs the variables (page sizes are often variables), so it runs per request, after the
  // cached parse and validation.
  const metrics = config.metrics.enabled;
  app.graphql.addHook('preExecution', async (_schema, document, context, variables) => {
    // Labelled before the cost check, so a query refused for its cost is counted under its root fields too.
    // No reply when a document is executed in-process (app.graphql()): nothing to label then.
    const request = metrics ? (context as { reply?: FastifyReply }).reply?.request : undefined;
    if (request) {
      const source = (request.method === 'GET' ? request.query : request.body) as { operationName?: unknown } | null | undefined;
      const operation = graphqlOperationOf(document, typeof source?.operationName === 'string' ? source.operationName : undefined);
      if (operation) request.graphqlOperation = operation;
    }
    const max = config.limits.queryCost;
    const cost = cachedQueryCost(document, variables as Record<string, unknown> | undefined, config.limits.listDefault, max);
    if (cost > max) {
      throw Errors.invalid('query', `may return ${cost} rows or more (page sizes multiplied through nested lists), more than the limit of ${max}; ask for smaller pages`);
    }
  });

  // Authenticate every GraphQL request before Mercurius sees it; GraphiQL's static page needs no credentials.
  app.addHook('preHandler', (request, reply, done) => {
    if (request.routeOptions.url !== '/graphql') return done();
    try {
      requireActor(request);
    } catch (e) {
      const { rendered, status, code } = renderError(e, request.log, request.id);
      noteErrorCode(request, code);
      reply.code(status).send({ data: null, errors: [rendered] });
      return;
    }
    done();
  });
}

/** The GraphQL request's query, variables and operation name, from the body or, for GET, the query string. */
function graphqlParamsOf(request: FastifyRequest): { query?: unknown; variables?: unknown; operationName?: unknown } {
  const source = (request.method === 'GET' ? request.query : request.body) as { query?: unknown; variables?: unknown; operationName?: unknown } | null | undefined;
  if (typeof source !== 'object' || source === null) return {};
  let variables = source.variables;
  if (request.method === 'GET' && typeof variables === 'string') {
    try {
      variables = JSON.parse(variables) as unknown;
    } catch {
      variables = undefined;
    }
  }
  return { query: source.query, variables, operationName: source.operationName };
}

/** Mercurius wraps validation errors in one error with an `errors` list; report each one. */
function flattenErrors(errors: readonly unknown[]): unknown[] {
  return errors.flatMap((e) => {
    const wrapper = ((e as { originalError?: unknown }).originalError ?? e) as { errors?: unknown; code?: unknown };
    if (!Array.isArray(wrapper.errors) || wrapper.errors.length === 0) return [e];
    // Plain inner errors inherit the wrapper's code, so they are still recognised as Mercurius's request errors.
    return wrapper.errors.map((inner: unknown) =>
      inner instanceof Error && !(inner instanceof GraphQLError) && !('code' in inner) ? Object.assign(inner, { code: wrapper.code }) : inner,
    );
  });
}
