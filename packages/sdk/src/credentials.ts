import { RosterError } from './errors.ts';
import type { Transport } from './transport.ts';
import type { RequestOptions } from './types.ts';

/** How a session authenticates: the `Authorization` header of each attempt, and what a 401 means. */
export interface Credentials {
  authorization(options: RequestOptions | undefined): Promise<string | undefined>;
  /** Forget cached credentials after a 401; true when fresh ones may succeed */
  onUnauthorized(): boolean;
}

/** The super-admin API key, sent as a bearer token (no token exchange, no extra round trip). */
export class ApiKeyCredentials implements Credentials {
  constructor(private readonly apiKey: string) {}
  async authorization(): Promise<string> {
    return `Bearer ${this.apiKey}`;
  }
  onUnauthorized(): boolean {
    return false;
  }
}

/** A token the application already holds (from its own sign-in, or from Roster earlier). */
export class TokenCredentials implements Credentials {
  constructor(private readonly token: string) {}
  async authorization(): Promise<string> {
    return `Bearer ${this.token}`;
  }
  onUnauthorized(): boolean {
    return false;
  }
}

const SWEEP_MIN = 1024;

interface CachedToken {
  token: string;
  /** When to stop using it: shortly before it expires */
  renewAt: number;
}

/**
 * User tokens obtained from `POST /v01/authorize` with the API key, cached per user until shortly before they
 * expire (a tenth of their lifetime, at most a minute), with one request in flight per user however many calls
 * wait for it.
 */
export class UserTokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();
  private sweepAt = SWEEP_MIN;

  constructor(
    private readonly transport: Transport,
    private readonly apiKey: string,
    private readonly environmentId: string | undefined,
  ) {}

  async token(userId: string, expiresIn: string | number | undefined, options: RequestOptions | undefined): Promise<string> {
    const key = `${userId}\u0000${expiresIn ?? ''}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() < cached.renewAt) return cached.token;
    let inFlight = this.pending.get(key);
    if (!inFlight) {
      inFlight = this.issue(userId, expiresIn, options).finally(() => this.pending.delete(key));
      this.pending.set(key, inFlight);
    }
    const issued = await inFlight;
    this.tokens.set(key, issued);
    if (this.tokens.size >= this.sweepAt) this.sweep();
    return issued.token;
  }

  /** Drops tokens past their renewal time, so a server acting for many users over months holds only live ones. */
  private sweep(): void {
    const now = Date.now();
    for (const [key, cached] of this.tokens) if (now >= cached.renewAt) this.tokens.delete(key);
    // Amortized: the next sweep waits until the cache has doubled again.
    this.sweepAt = Math.max(SWEEP_MIN, this.tokens.size * 2);
  }

  forget(userId: string, expiresIn: string | number | undefined): void {
    this.tokens.delete(`${userId}\u0000${expiresIn ?? ''}`);
  }

  private async issue(userId: string, expiresIn: string | number | undefined, options: RequestOptions | undefined): Promise<CachedToken> {
    const requestedAt = Date.now();
    const response = await this.transport.send({
      method: 'POST',
      path: '/v01/authorize',
      body: { userId, ...(this.environmentId ? { environmentId: this.environmentId } : {}), ...(expiresIn === undefined ? {} : { expiresIn }) },
      idempotent: true, // issuing a token changes nothing
      authorization: async () => `Bearer ${this.apiKey}`,
      options: options?.signal ? { signal: options.signal } : undefined,
    });
    const body = response.body as { accessToken?: unknown; expiresAt?: unknown } | undefined;
    const expiresAt = typeof body?.expiresAt === 'string' ? Date.parse(body.expiresAt) : Number.NaN;
    if (typeof body?.accessToken !== 'string' || Number.isNaN(expiresAt)) {
      throw new RosterError({ code: 'INVALID_RESPONSE', status: response.status, message: 'POST /v01/authorize: no accessToken/expiresAt in the answer', requestId: response.requestId });
    }
    const lifetime = Math.max(0, expiresAt - requestedAt);
    return { token: body.accessToken, renewAt: expiresAt - Math.min(60_000, lifetime / 10) };
  }
}

export class UserCredentials implements Credentials {
  constructor(
    private readonly cache: UserTokenCache,
    private readonly userId: string,
    private readonly expiresIn: string | number | undefined,
  ) {}
  async authorization(options: RequestOptions | undefined): Promise<string> {
    return `Bearer ${await this.cache.token(this.userId, this.expiresIn, options)}`;
  }
  onUnauthorized(): boolean {
    // The token may have been revoked with its signing key, or the clock may differ: one retry with a new one.
    this.cache.forget(this.userId, this.expiresIn);
    return true;
  }
}
