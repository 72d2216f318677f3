import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { securityHeaders } from './security-headers.ts';
import type { Config } from '../../config.ts';
import { AppError, Errors } from '../../errors.ts';
import type { Actor } from '../../domain/types.ts';
import type { Services } from '../../services/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, when the request carried valid credentials. */
    actor?: Actor;
    /** Why the credentials it carried were refused. */
    authError?: AppError;
  }
}

const CREDENTIAL_HEADERS = ['authorization', 'roq-platform-authorization', 'roq-platform-server-authorization'];
// Probes, the metrics scrape and the public key set are never throttled.
const UNLIMITED_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/.well-known/jwks.json']);

/** The caller, or the reason its credentials were refused, for routes that require credentials. */
export function requireActor(request: FastifyRequest): Actor {
  if (request.actor) return request.actor;
  throw request.authError ?? Errors.unauthenticated('Missing credentials: send Authorization: Bearer <API key or token>');
}

const BEARER = /^Bearer\s+\S+$/i;

/**
 * A credential header without the `Bearer ` scheme (`Authorization: rk_…`, `Basic …`, a bare `Bearer`) when nothing
 * else in the request authenticates it: refused saying what the header should hold, rather than as missing
 * credentials. The SDK's `roq-platform-server-authorization` (Basic) is left to the authentication itself, and a
 * well-formed `roq-platform-authorization` wins over `Authorization`, as in `AuthService.authenticate`.
 */
function malformedBearer(headers: FastifyRequest['headers']): AppError | undefined {
  if (headers['roq-platform-server-authorization'] !== undefined) return undefined;
  const roq = headers['roq-platform-authorization'];
  const authorization = headers.authorization;
  const wellFormed = (value: string | string[] | undefined) => typeof value === 'string' && BEARER.test(value.trim());
  if (wellFormed(roq) || wellFormed(authorization)) return undefined;
  const [name, value] = authorization !== undefined ? ['Authorization', authorization] : ['roq-platform-authorization', roq];
  if (typeof value !== 'string') return undefined;
  return new AppError('UNAUTHENTICATED', `${name}: expected "Bearer <API key or token>" (${whatCame(value)})`, { field: name });
}

/** What a malformed credential header held, without repeating it: it may be the key itself. */
function whatCame(value: string): string {
  const words = value.trim().split(/\s+/).filter(Boolean);
  const scheme = words[0];
  if (scheme === undefined) return 'got an empty value';
  if (/^bearer$/i.test(scheme)) return words.length === 1 ? 'got "Bearer" without an API key or token' : 'got more than one value after "Bearer"';
  if (words.length === 1) return 'got a value without the "Bearer" scheme';
  return /^[A-Za-z][A-Za-z0-9_.+-]{0,19}$/.test(scheme) ? `got the "${scheme}" scheme` : 'got another scheme';
}

/**
 * What guards every request before it reaches a route: identification of the caller (once, for rate limiting
 * and for the routes), the rate limiter per API key, per user and per address, security headers, and CORS.
 */
export async function registerProtection(app: FastifyInstance, services: Services, config: Config): Promise<void> {
  // A callback hook: an API key is checked without a promise, and most calls use one.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!CREDENTIAL_HEADERS.some((h) => request.headers[h] !== undefined)) return done();
    const malformed = malformedBearer(request.headers);
    if (malformed) {
      request.authError = malformed;
      return done();
    }
    const refused = (e: unknown) => {
      if (!(e instanceof AppError)) return done(e instanceof Error ? e : new Error(String(e)));
      request.authError = e;
      done();
    };
    let outcome: Actor | Promise<Actor>;
    try {
      outcome = services.auth.authenticate(request.headers);
    } catch (e) {
      return refused(e);
    }
    if (outcome instanceof Promise) {
      outcome.then((actor) => {
        request.actor = actor;
        done();
      }, refused);
    } else {
      request.actor = outcome;
      done();
    }
  });

  const limits = config.rateLimit;
  // Loaded only when configured: most installations have no Redis, and start-up should not pay for the client.
  const redis = limits.redisUrl
    ? new (await import('ioredis')).Redis(limits.redisUrl, { connectTimeout: 1000, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false })
    : undefined;
  // A Redis outage must not take the directory down: the limiter lets requests through and says so in the log.
  redis?.on('error', (err: Error) => app.log.warn({ err: err.message }, 'rate limiter: Redis unavailable'));
  const classOf = (key: string) => (key.startsWith('key:') ? limits.apiKey : key.startsWith('user:') ? limits.user : limits.anonymous);
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: limits.windowSeconds * 1000,
    enableDraftSpec: true,
    ...(redis ? { redis, nameSpace: 'roster-rate-limit:', skipOnError: true } : {}),
    keyGenerator: (request) => {
      const actor = request.actor;
      if (actor?.kind === 'superAdmin') return `key:${actor.keyId ?? 'token'}`;
      if (actor?.kind === 'user') return `user:${actor.userId}`;
      return `ip:${request.ip}`;
    },
    max: async (_request, key) => classOf(key),
    // A limit of 0 switches that class off.
    allowList: (request, key) => UNLIMITED_ROUTES.has(request.routeOptions.url ?? '') || classOf(key) === 0,
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Rate limit exceeded: at most ${context.max} requests per ${limits.windowSeconds} s; retry in ${Math.ceil(context.ttl / 1000)} s`, {
        limit: context.max,
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
  // disconnect, not quit: quit waits for a server that may be unreachable, and ioredis would keep reconnecting.
  if (redis) app.addHook('onClose', async () => redis.disconnect());

  const headers = securityHeaders({
    // The start page, GraphiQL and the REST reference load everything from Roster itself (scripts only from files,
    // never inline); their components set inline styles. JSON responses are unaffected.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
      },
    },
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: { maxAge: 31536000, includeSubDomains: true },
  });
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });

  // Closed unless configured: without ROSTER_CORS_ORIGINS no cross-origin browser call is allowed.
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: [...config.corsOrigins],
      methods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-match', 'x-request-id', 'roq-platform-authorization', 'roq-platform-server-authorization'],
      exposedHeaders: ['etag', 'x-request-id', 'x-client-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'idempotent-replayed'],
      maxAge: 600,
    });
  }
}
