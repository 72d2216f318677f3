import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../domain/types.ts';
import type { Services } from '../../services/index.ts';
import { Errors } from '../../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: { principal: string; key: string };
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Their responses carry secrets, which are never stored: these calls refuse a key instead.
const SECRET_ROUTES = new Set(['/v3/api-keys', '/v3/api-keys/:keyId/rotate', '/v01/authorize', '/v01/authorize/serviceAccount']);
const SECRET_MUTATIONS = /\b(createApiKey|rotateApiKey)\b/;
// Headers a client needs from a replay as much as from the first answer.
const REPLAYED_HEADERS = ['etag', 'location'];

/** `Idempotency-Key` on REST writes and GraphQL requests, for callers with valid credentials. */
export function registerIdempotency(app: FastifyInstance, services: Services): void {
  // Callback hooks: most requests carry no key, and an async hook would cost each of them a promise.
  app.addHook('preHandler', (request, reply, done) => {
    const raw = request.headers['idempotency-key'];
    const actor = request.actor;
    if (raw === undefined || !WRITE_METHODS.has(request.method) || !actor) return done();
    begin(request, reply, actor, raw).then((replayed) => {
      if (!replayed) done();
    }, done);
  });

  /** Replays the stored answer (true), or marks the request to store its answer (false). */
  const begin = async (request: FastifyRequest, reply: FastifyReply, actor: Actor, raw: string | string[]): Promise<boolean> => {
    const route = request.routeOptions.url ?? '';
    const query = (request.body as { query?: unknown } | undefined)?.query;
    if (SECRET_ROUTES.has(route) || (route === '/graphql' && typeof query === 'string' && SECRET_MUTATIONS.test(query))) {
      throw Errors.invalid('Idempotency-Key', 'is not accepted on calls that return a secret (API keys, tokens)');
    }
    if (Array.isArray(raw)) throw Errors.invalid('Idempotency-Key', 'must be given once');
    const fingerprint = `${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`;
    const start = await services.idempotency.start(actor, raw, fingerprint);
    if (start.kind === 'replay') {
      const { status, body, contentType, headers } = start.response;
      if (contentType) reply.header('content-type', contentType);
      for (const [name, value] of Object.entries(headers)) if (REPLAYED_HEADERS.includes(name)) reply.header(name, value);
      reply.code(status).header('idempotent-replayed', 'true').send(body);
      return true;
    }
    request.idempotency = { principal: start.principal, key: start.key };
    return false;
  };

  app.addHook('onSend', (request, reply, payload, done) => {
    const held = request.idempotency;
    if (!held) return done(null, payload);
    request.idempotency = undefined;
    finish(reply, held, payload).then(() => done(null, payload), done);
  });

  const finish = async (reply: FastifyReply, held: NonNullable<FastifyRequest['idempotency']>, payload: unknown): Promise<void> => {
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    const contentType = reply.getHeader('content-type');
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = reply.getHeader(name);
      if (typeof value === 'string') headers[name] = value;
    }
    await services.idempotency.finish(held.principal, held.key, {
      // A streamed body cannot be stored; treat it like a failure so a retry runs again.
      status: body === undefined ? 500 : reply.statusCode,
      body: body ?? '',
      contentType: typeof contentType === 'string' ? contentType : null,
      headers,
    });
  };
}
