import { ApiKeyCredentials, TokenCredentials, UserCredentials, UserTokenCache } from './credentials.ts';
import { RosterSession } from './session.ts';
import { Transport, type TransportOptions } from './transport.ts';

export interface RosterClientOptions extends TransportOptions {
  /**
   * A super-admin API key, for `asSuperAdmin()` and for obtaining user tokens in `asUser()`. Keep it on the
   * server side; a browser uses `withToken()` with a token its back end obtained.
   */
  apiKey?: string | undefined;
  /** The environment (deployment) id, sent when obtaining user tokens, as the ROQ SDK does */
  environmentId?: string | undefined;
}

export interface AsUserOptions {
  /** The token's lifetime: seconds, or a duration such as `15m`, `2h`, `7d` (default: the server's, 1 hour) */
  expiresIn?: number | string | undefined;
}

/**
 * The entry point: `new RosterClient({ url, apiKey })`, then a session per caller:
 *
 * ```ts
 * const client = new RosterClient({ url: 'http://127.0.0.1:4000', apiKey: process.env.ROSTER_API_KEY });
 * const { createUser } = await client.asSuperAdmin().createUser({ user: { reference: 'u-1', email: 'a@example.com' } });
 * ```
 */
export class RosterClient {
  private readonly transport: Transport;
  private readonly tokens: UserTokenCache | undefined;
  private superAdmin: RosterSession | undefined;

  constructor(private readonly options: RosterClientOptions) {
    this.transport = new Transport(options);
    this.tokens = options.apiKey ? new UserTokenCache(this.transport, options.apiKey, options.environmentId) : undefined;
  }

  /** Every operation with the API key's rights: all tenants, all writes. */
  asSuperAdmin(): RosterSession {
    if (!this.options.apiKey) throw new TypeError('asSuperAdmin() needs the apiKey option');
    this.superAdmin ??= new RosterSession(this.transport, new ApiKeyCredentials(this.options.apiKey));
    return this.superAdmin;
  }

  /**
   * Every operation as the user `userId`, limited to what the user may see and do in their tenant. The user's
   * token is obtained with the API key on first use and cached until shortly before it expires.
   */
  asUser(userId: string, options: AsUserOptions = {}): RosterSession {
    if (!this.tokens) throw new TypeError('asUser() needs the apiKey option to obtain user tokens; use withToken() with a token you hold');
    if (typeof userId !== 'string' || userId.length === 0) throw new TypeError('asUser(userId): userId must be a non-empty string');
    return new RosterSession(this.transport, new UserCredentials(this.tokens, userId, options.expiresIn));
  }

  /** Every operation with a token the application already holds (a user token issued by Roster). */
  withToken(token: string): RosterSession {
    if (typeof token !== 'string' || token.length === 0) throw new TypeError('withToken(token): token must be a non-empty string');
    return new RosterSession(this.transport, new TokenCredentials(token));
  }
}
