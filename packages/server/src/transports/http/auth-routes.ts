import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isAppError } from '../../errors.ts';
import type { Services } from '../../services/index.ts';
import { requireActor } from './protection.ts';
import { noteErrorCode } from '../../observability/metrics.ts';

interface TokenBody {
  email?: unknown;
  environmentId?: unknown;
  apiKey?: unknown;
  userId?: unknown;
  expiresIn?: unknown;
}

/** The token endpoints `@roq/nodejs` calls: the service-account exchange and user tokens for `asUser`. */
export async function registerAuthRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const errorReply = (request: FastifyRequest, e: unknown) => {
    if (!isAppError(e)) throw e;
    noteErrorCode(request, e.code);
    const field = typeof e.details.field === 'string' ? { field: e.details.field } : {};
    return { status: e.status, body: { statusCode: e.status, errorCode: e.code, message: e.message, ...field } };
  };

  // The public halves of the token signing keys, for anyone verifying Roster's tokens.
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return services.auth.ring.jwks();
  });

  app.post<{ Body: TokenBody }>('/v01/authorize/serviceAccount', async (request, reply) => {
    try {
      const token = await services.auth.serviceAccountToken(request.body ?? {});
      return { accessToken: token.accessToken, expiresAt: token.expiresAt.toISOString() };
    } catch (e) {
      const { status, body } = errorReply(request, e);
      return reply.code(status).send(body);
    }
  });

  app.post<{ Body: TokenBody }>('/v01/authorize', async (request, reply) => {
    try {
      const actor = requireActor(request);
      const token = await services.auth.userToken({ actor, requestId: request.id, clientRequestId: request.clientRequestId ?? null }, request.body ?? {});
      return { accessToken: token.accessToken, expiresAt: token.expiresAt.toISOString() };
    } catch (e) {
      const { status, body } = errorReply(request, e);
      return reply.code(status).send(body);
    }
  });
}
