import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { sql } from 'kysely';
import { Errors } from '../errors.ts';
import { run } from '../db/transaction.ts';
import type { Actor, RequestContext } from '../domain/types.ts';
import * as usersRepo from '../repositories/users.ts';
import type { ServiceDeps } from './deps.ts';
import { requireSuperAdmin } from './policy.ts';
import * as v from './validate.ts';

const ISSUER = 'roster';
const SERVICE_ACCOUNT_SUBJECT = 'service-account';
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresAt: Date;
}

/**
 * Credentials: the super-admin API key (only its SHA-256 is kept), and short-lived signed JWTs for the
 * service account and for users, as the `@roq/nodejs` SDK obtains them.
 */
export class AuthService {
  #keyHashes: Buffer[] = [];
  #secret: Uint8Array | undefined;

  constructor(private readonly deps: ServiceDeps) {}

  /**
   * Loads the key material. With `ROSTER_API_KEY` unset, a key is generated at first start and returned so the
   * caller can print it once; later starts find its hash in the database.
   */
  async init(): Promise<{ generatedApiKey?: string }> {
    const db = this.deps.db;
    const signing = await run(() => db.selectFrom('signing_keys').select(['secret']).orderBy('created_at', 'desc').executeTakeFirst());
    let secret = signing?.secret;
    if (!secret) {
      secret = randomBytes(32).toString('base64url');
      await run(() => sql`insert into signing_keys (id, secret) values (${this.deps.newId()}, ${secret})`.execute(db));
      // Two nodes may race at first start: whichever row is newest wins everywhere.
      secret = (await db.selectFrom('signing_keys').select(['secret']).orderBy('created_at', 'desc').executeTakeFirstOrThrow()).secret;
    }
    this.#secret = Buffer.from(secret, 'base64url');

    let generatedApiKey: string | undefined;
    if (this.deps.config.apiKey) {
      this.#keyHashes = [sha256(this.deps.config.apiKey)];
    } else {
      const stored = await run(() => db.selectFrom('api_keys').select(['hash']).where('revoked_at', 'is', null).execute());
      if (stored.length === 0) {
        generatedApiKey = `rk_${randomBytes(32).toString('base64url')}`;
        const hash = sha256(generatedApiKey).toString('hex');
        await run(() => sql`insert into api_keys (id, prefix, hash, name) values (${this.deps.newId()}, ${generatedApiKey!.slice(0, 8)}, ${hash}, 'generated at first start')`.execute(db));
        this.#keyHashes = [Buffer.from(hash, 'hex')];
      } else {
        this.#keyHashes = stored.map((k) => Buffer.from(k.hash, 'hex'));
      }
    }
    return generatedApiKey ? { generatedApiKey } : {};
  }

  // Keys recently verified, so a busy client does not pay a SHA-256 per request. Only accepted keys are kept,
  // and only a few: a flood of wrong keys cannot grow it.
  #recentlyAccepted = new Set<string>();

  /** Constant-time comparison against every valid key hash. */
  isApiKey(presented: string): boolean {
    if (this.#recentlyAccepted.has(presented)) return true;
    const hash = sha256(presented);
    let match = false;
    for (const known of this.#keyHashes) match = timingSafeEqual(hash, known) || match;
    if (match) {
      if (this.#recentlyAccepted.size >= 16) this.#recentlyAccepted.clear();
      this.#recentlyAccepted.add(presented);
    }
    return match;
  }

  private checkEnvironment(environmentId: unknown): void {
    const expected = this.deps.config.environmentId;
    if (expected !== undefined && environmentId !== expected) throw Errors.unauthenticated('Unknown environmentId');
  }

  /** `POST /v01/authorize/serviceAccount`: the SDK's exchange of the API key for a service-account token. */
  async serviceAccountToken(body: { environmentId?: unknown; apiKey?: unknown }): Promise<IssuedToken> {
    this.checkEnvironment(body.environmentId);
    if (typeof body.apiKey !== 'string' || !this.isApiKey(body.apiKey)) throw Errors.unauthenticated('Invalid API key');
    return this.sign({ kind: 'superAdmin' }, this.deps.config.tokenTtlSeconds);
  }

  /** `POST /v01/authorize` (and `asUser`): a token acting as one user, issued to the super-admin only. */
  async userToken(ctx: RequestContext, body: { environmentId?: unknown; userId?: unknown; expiresIn?: unknown }): Promise<IssuedToken> {
    requireSuperAdmin(ctx, 'issue user tokens');
    if (body.environmentId !== undefined) this.checkEnvironment(body.environmentId);
    if (typeof body.userId !== 'string') throw Errors.invalid('userId', 'is required');
    v.uuid('userId', body.userId);
    const user = await run(() => usersRepo.findUserById(this.deps.db, body.userId as string));
    if (!user) throw Errors.notFound('User', 'userId', body.userId);
    if (!user.active) throw Errors.forbidden('The user is deactivated');
    const ttl = parseExpiresIn(body.expiresIn, this.deps.config.tokenTtlSeconds);
    return this.sign({ kind: 'user', userId: user.id, tenantId: user.tenantId }, ttl);
  }

  async sign(actor: Actor, ttlSeconds: number): Promise<IssuedToken> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + ttlSeconds;
    const jwt = new SignJWT(actor.kind === 'user' ? { tid: actor.tenantId, kind: 'user' } : { kind: 'superAdmin' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(actor.kind === 'user' ? actor.userId : SERVICE_ACCOUNT_SUBJECT)
      .setIssuedAt(now)
      .setExpirationTime(exp);
    if (this.deps.config.environmentId) jwt.setAudience(this.deps.config.environmentId);
    return { accessToken: await jwt.sign(this.secret()), expiresAt: new Date(exp * 1000) };
  }

  async verify(token: string): Promise<Actor> {
    try {
      const { payload } = await jwtVerify(token, this.secret(), {
        issuer: ISSUER,
        algorithms: ['HS256'],
        ...(this.deps.config.environmentId ? { audience: this.deps.config.environmentId } : {}),
      });
      if (payload.kind === 'superAdmin' && payload.sub === SERVICE_ACCOUNT_SUBJECT) return { kind: 'superAdmin' };
      if (payload.kind === 'user' && typeof payload.sub === 'string' && typeof payload.tid === 'string') {
        return { kind: 'user', userId: payload.sub, tenantId: payload.tid };
      }
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw Errors.unauthenticated('The token has expired');
    }
    throw Errors.unauthenticated('Invalid token');
  }

  /**
   * Resolves the caller from the request headers: `Authorization: Bearer <API key | token>`, or the SDK's
   * `roq-platform-authorization: Bearer <token>` with `roq-platform-server-authorization: Basic base64(env:key)`.
   */
  async authenticate(headers: Record<string, string | string[] | undefined>): Promise<Actor> {
    const header = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const server = header('roq-platform-server-authorization');
    if (server !== undefined) {
      const [scheme, encoded] = server.split(' ');
      const decoded = scheme === 'Basic' && encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      if (colon < 0) throw Errors.unauthenticated('Malformed roq-platform-server-authorization header');
      this.checkEnvironment(decoded.slice(0, colon));
      if (!this.isApiKey(decoded.slice(colon + 1))) throw Errors.unauthenticated('Invalid API key');
    }
    const bearer = bearerOf(header('roq-platform-authorization')) ?? bearerOf(header('authorization'));
    if (bearer === undefined) {
      if (server !== undefined) return { kind: 'superAdmin' };
      throw Errors.unauthenticated('Missing credentials: send Authorization: Bearer <API key or token>');
    }
    if (bearer.split('.').length === 3) return this.verify(bearer);
    if (this.isApiKey(bearer)) return { kind: 'superAdmin' };
    throw Errors.unauthenticated('Invalid API key');
  }

  private secret(): Uint8Array {
    if (!this.#secret) throw new Error('AuthService.init() was not called');
    return this.#secret;
  }
}

function bearerOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `expiresIn` as the SDK passes it: seconds, or a string like "90", "15m", "2h", "7d". At most 7 days. */
function parseExpiresIn(raw: unknown, fallback: number): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const match = /^(\d{1,7})\s*([smhd]?)$/.exec(String(raw).trim());
  if (!match) throw Errors.invalid('expiresIn', 'must be a number of seconds or a duration such as 15m, 2h, 7d');
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
  if (seconds < 1 || seconds > 7 * 86400) throw Errors.invalid('expiresIn', 'must be between 1 second and 7 days');
  return seconds;
}
