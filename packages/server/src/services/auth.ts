import { SignJWT, jwtVerify, errors as joseErrors, type JWTHeaderParameters } from 'jose';
import { Errors } from '../errors.ts';
import { run } from '../db/transaction.ts';
import type { Actor, RequestContext } from '../domain/types.ts';
import * as usersRepo from '../repositories/users.ts';
import type { ApiKeyService } from './api-keys.ts';
import { writeAudited } from './audit.ts';
import type { ServiceDeps } from './deps.ts';
import { requireSuperAdmin } from './policy.ts';
import { SIGNING_ALGORITHM, insertKey, type SigningKeyRing } from './signing-keys.ts';
import type { TokenRevocations } from './token-revocations.ts';
import * as v from './validate.ts';

const ISSUER = 'roster';
const SERVICE_ACCOUNT_SUBJECT = 'service-account';
const SYSTEM: RequestContext = { actor: { kind: 'superAdmin', keyId: 'system' }, requestId: 'scheduled-key-rotation' };

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresAt: Date;
}

/**
 * Credentials: super-admin API keys (see ApiKeyService), and short-lived ES256 JWTs for the service account and
 * for users, as the `@roq/nodejs` SDK obtains them, signed by a rotating key ring published as a JWK Set.
 */
export class AuthService {
  #rotationTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ServiceDeps,
    readonly keys: ApiKeyService,
    readonly ring: SigningKeyRing,
    readonly revocations: TokenRevocations,
  ) {}

  /**
   * Loads the key material. With no API key configured or stored, one is generated and returned so the caller
   * can print it once. Signing keys older than the configured age are rotated now and checked hourly.
   */
  async init(): Promise<{ generatedApiKey?: string }> {
    await this.ring.init();
    await this.revocations.init();
    const generated = await this.keys.init();
    await this.rotateIfOld();
    this.#rotationTimer = setInterval(() => void this.rotateIfOld().catch(() => undefined), 3600_000);
    this.#rotationTimer.unref();
    return generated;
  }

  close(): void {
    clearInterval(this.#rotationTimer);
    this.revocations.close();
  }

  private async rotateIfOld(): Promise<void> {
    if (this.ring.signingKeyAgeMs() > this.deps.config.signingKeyMaxAgeDays * 86400_000) await this.rotateSigningKey(SYSTEM);
  }

  /** A new signing key signs from now on; the previous ones keep verifying until their tokens have expired. */
  async rotateSigningKey(ctx: RequestContext): Promise<{ kid: string }> {
    requireSuperAdmin(ctx, 'rotate signing keys');
    const kid = await writeAudited(this.deps, ctx, async (tx, audit) => {
      const k = await insertKey(tx, this.deps.newId());
      audit({ tenantId: null, operation: 'signingKey.rotate', targetType: 'signingKey', targetId: k });
      return k;
    });
    await this.ring.reload();
    return { kid };
  }

  /** The signing keys that still verify, newest first; public metadata only. */
  signingKeys(ctx: RequestContext): { kid: string; createdAt: Date; retiredAt: Date | null; signing: boolean }[] {
    requireSuperAdmin(ctx, 'list signing keys');
    return this.ring.list();
  }

  /** The id of the API key presented, or undefined. */
  isApiKey(presented: string): string | undefined {
    return this.keys.match(presented);
  }

  private checkEnvironment(environmentId: unknown): void {
    const expected = this.deps.config.environmentId;
    if (expected !== undefined && environmentId !== expected) throw Errors.unauthenticated('Unknown environmentId');
  }

  /** `POST /v01/authorize/serviceAccount`: the SDK's exchange of the API key for a service-account token. */
  async serviceAccountToken(body: { environmentId?: unknown; apiKey?: unknown }): Promise<IssuedToken> {
    this.checkEnvironment(body.environmentId);
    const keyId = typeof body.apiKey === 'string' ? this.isApiKey(body.apiKey) : undefined;
    if (keyId === undefined) throw Errors.unauthenticated('Invalid API key');
    return this.sign({ kind: 'superAdmin', keyId }, this.deps.config.tokenTtlSeconds);
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
    const { kid, key } = this.ring.signingKey();
    // `ims`: the issue time in milliseconds, so a revocation tells apart tokens issued within the same second.
    const claims = actor.kind === 'user' ? { tid: actor.tenantId, kind: 'user', ims: Date.now() } : { kind: 'superAdmin', ...(actor.keyId ? { akid: actor.keyId } : {}) };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: 'JWT', kid })
      .setIssuer(ISSUER)
      .setSubject(actor.kind === 'user' ? actor.userId : SERVICE_ACCOUNT_SUBJECT)
      .setIssuedAt(now)
      .setExpirationTime(exp);
    if (this.deps.config.environmentId) jwt.setAudience(this.deps.config.environmentId);
    return { accessToken: await jwt.sign(key), expiresAt: new Date(exp * 1000) };
  }

  async verify(token: string): Promise<Actor> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header: JWTHeaderParameters) => {
          const key = header.kid === undefined ? undefined : await this.ring.verifyKey(header.kid);
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key;
        },
        {
          issuer: ISSUER,
          algorithms: [SIGNING_ALGORITHM],
          ...(this.deps.config.environmentId ? { audience: this.deps.config.environmentId } : {}),
        },
      );
      if (payload.kind === 'superAdmin' && payload.sub === SERVICE_ACCOUNT_SUBJECT) {
        const keyId = typeof payload.akid === 'string' ? payload.akid : undefined;
        // A service-account token dies with the API key it was exchanged for.
        if (keyId !== undefined && !this.keys.isActive(keyId)) throw Errors.unauthenticated('The API key this token was issued for is no longer valid');
        return keyId === undefined ? { kind: 'superAdmin' } : { kind: 'superAdmin', keyId };
      }
      if (payload.kind === 'user' && typeof payload.sub === 'string' && typeof payload.tid === 'string') {
        const issuedAtMs = typeof payload.ims === 'number' ? payload.ims : (payload.iat ?? 0) * 1000;
        if (this.revocations.isRevoked(payload.sub, issuedAtMs)) {
          throw Errors.unauthenticated("The token was revoked: its user was deactivated or deleted, or the user's tokens were revoked");
        }
        return { kind: 'user', userId: payload.sub, tenantId: payload.tid };
      }
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw Errors.unauthenticated('The token has expired');
      if (e instanceof Error && e.name === 'AppError') throw e;
    }
    throw Errors.unauthenticated('Invalid token');
  }

  /**
   * Resolves the caller from the request headers: `Authorization: Bearer <API key | token>`, or the SDK's
   * `roq-platform-authorization: Bearer <token>` with `roq-platform-server-authorization: Basic base64(env:key)`.
   * An API key is answered at once (it is checked in memory); a token, whose signature is verified, in a promise.
   * Refused credentials throw, synchronously for an API key.
   */
  authenticate(headers: Record<string, string | string[] | undefined>): Actor | Promise<Actor> {
    const header = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const server = header('roq-platform-server-authorization');
    let serverKeyId: string | undefined;
    if (server !== undefined) {
      const [scheme, encoded] = server.split(' ');
      const decoded = scheme === 'Basic' && encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      if (colon < 0) throw Errors.unauthenticated('Malformed roq-platform-server-authorization header');
      this.checkEnvironment(decoded.slice(0, colon));
      serverKeyId = this.isApiKey(decoded.slice(colon + 1));
      if (serverKeyId === undefined) throw Errors.unauthenticated('Invalid API key');
    }
    const bearer = bearerOf(header('roq-platform-authorization')) ?? bearerOf(header('authorization'));
    if (bearer === undefined) {
      if (serverKeyId !== undefined) return { kind: 'superAdmin', keyId: serverKeyId };
      throw Errors.unauthenticated('Missing credentials: send Authorization: Bearer <API key or token>');
    }
    if (bearer.split('.').length === 3) return this.verify(bearer);
    const keyId = this.isApiKey(bearer);
    if (keyId !== undefined) return { kind: 'superAdmin', keyId };
    throw Errors.unauthenticated('Invalid API key');
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
