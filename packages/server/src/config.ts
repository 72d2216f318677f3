import { z } from 'zod';

const intFrom = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: intFrom(4000, 0, 65535),
  DATABASE_URL: z.string().url().optional(),
  ROSTER_DATA_DIR: z.string().min(1).default('./data'),
  ROSTER_API_KEY: z.string().min(16, 'ROSTER_API_KEY must be at least 16 characters').optional(),
  ROSTER_ENVIRONMENT_ID: z.string().min(1).optional(),
  ROSTER_TOKEN_TTL_SECONDS: intFrom(3600, 60, 7 * 24 * 3600),
  ROSTER_LIST_LIMIT_DEFAULT: intFrom(100, 1, 100_000),
  ROSTER_LIST_LIMIT_MAX: intFrom(1000, 1, 100_000),
  ROSTER_BATCH_MAX: intFrom(10_000, 1, 1_000_000),
  ROSTER_QUERY_DEPTH_MAX: intFrom(8, 2, 64),
  ROSTER_QUERY_FIELDS_MAX: intFrom(500, 10, 100_000),
  ROSTER_QUERY_COST_MAX: intFrom(200_000, 100, 100_000_000),
  ROSTER_STRING_LENGTH_MAX: intFrom(255, 16, 10_000),
  ROSTER_CUSTOM_DATA_BYTES_MAX: intFrom(64 * 1024, 256, 16 * 1024 * 1024),
  ROSTER_BODY_LIMIT_BYTES: intFrom(2 * 1024 * 1024, 1024, 256 * 1024 * 1024),
  ROSTER_SIGNING_KEY_MAX_AGE_DAYS: intFrom(30, 1, 3650),
  ROSTER_KEY_REFRESH_SECONDS: intFrom(5, 1, 86400),
  ROSTER_RATE_LIMIT_WINDOW_SECONDS: intFrom(60, 1, 3600),
  ROSTER_RATE_LIMIT_API_KEY: intFrom(600_000, 0, 100_000_000),
  ROSTER_RATE_LIMIT_USER: intFrom(1200, 0, 100_000_000),
  ROSTER_RATE_LIMIT_ANONYMOUS: intFrom(120, 0, 100_000_000),
  REDIS_URL: z.string().url().optional(),
  ROSTER_CORS_ORIGINS: z.string().optional(),
  ROSTER_IDEMPOTENCY_TTL_HOURS: intFrom(24, 1, 24 * 30),
  ROSTER_ALLOW_EMBEDDED_IN_PRODUCTION: z.enum(['true', 'false']).default('false'),
  ROSTER_GRAPHIQL: z.enum(['true', 'false']).optional(),
  ROSTER_METRICS: z.enum(['true', 'false']).default('true'),
  ROSTER_METRICS_TOKEN: z.string().min(16, 'ROSTER_METRICS_TOKEN must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly host: string;
  readonly port: number;
  /** PostgreSQL connection string; when absent Roster runs embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly apiKey: string | undefined;
  readonly environmentId: string | undefined;
  readonly tokenTtlSeconds: number;
  /** Signing keys older than this are rotated (checked at start and hourly). */
  readonly signingKeyMaxAgeDays: number;
  /** How soon an API key revoked on another node stops working here. */
  readonly keyRefreshSeconds: number;
  readonly limits: {
    readonly listDefault: number;
    readonly listMax: number;
    /** Most users one membership call may name. */
    readonly batchMax: number;
    readonly queryDepth: number;
    /** Most field selections (aliases included) one GraphQL document may have. */
    readonly queryFields: number;
    /** Most rows one GraphQL query may ask for, page sizes multiplied through nested lists. */
    readonly queryCost: number;
    readonly bodyBytes: number;
    readonly stringLength: number;
    readonly customDataBytes: number;
  };
  /** Requests per window per API key, per user token and per address of unauthenticated callers; 0 is off. */
  readonly rateLimit: {
    readonly windowSeconds: number;
    readonly apiKey: number;
    readonly user: number;
    readonly anonymous: number;
    /** Shared counters for several nodes; in-process when absent. */
    readonly redisUrl: string | undefined;
  };
  /** Origins allowed to call from a browser; none by default. */
  readonly corsOrigins: readonly string[];
  readonly idempotencyTtlHours: number;
  readonly graphiql: boolean;
  /** `GET /metrics` (Prometheus text); when `token` is set, scrapes must send `Authorization: Bearer <token>`. */
  readonly metrics: {
    readonly enabled: boolean;
    readonly token: string | undefined;
  };
  readonly logLevel: string;
}

export class ConfigError extends Error {}

/** Reads the environment once, at start; nothing else in Roster looks at `process.env`. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.ROSTER_LIST_LIMIT_DEFAULT > e.ROSTER_LIST_LIMIT_MAX) {
    throw new ConfigError('Invalid configuration: ROSTER_LIST_LIMIT_DEFAULT exceeds ROSTER_LIST_LIMIT_MAX');
  }
  const config: Config = {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.ROSTER_DATA_DIR,
    apiKey: e.ROSTER_API_KEY,
    environmentId: e.ROSTER_ENVIRONMENT_ID,
    tokenTtlSeconds: e.ROSTER_TOKEN_TTL_SECONDS,
    signingKeyMaxAgeDays: e.ROSTER_SIGNING_KEY_MAX_AGE_DAYS,
    keyRefreshSeconds: e.ROSTER_KEY_REFRESH_SECONDS,
    limits: {
      listDefault: e.ROSTER_LIST_LIMIT_DEFAULT,
      listMax: e.ROSTER_LIST_LIMIT_MAX,
      batchMax: e.ROSTER_BATCH_MAX,
      queryDepth: e.ROSTER_QUERY_DEPTH_MAX,
      queryFields: e.ROSTER_QUERY_FIELDS_MAX,
      queryCost: e.ROSTER_QUERY_COST_MAX,
      bodyBytes: e.ROSTER_BODY_LIMIT_BYTES,
      stringLength: e.ROSTER_STRING_LENGTH_MAX,
      customDataBytes: e.ROSTER_CUSTOM_DATA_BYTES_MAX,
    },
    rateLimit: {
      windowSeconds: e.ROSTER_RATE_LIMIT_WINDOW_SECONDS,
      apiKey: e.ROSTER_RATE_LIMIT_API_KEY,
      user: e.ROSTER_RATE_LIMIT_USER,
      anonymous: e.ROSTER_RATE_LIMIT_ANONYMOUS,
      redisUrl: e.REDIS_URL,
    },
    corsOrigins: (e.ROSTER_CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    idempotencyTtlHours: e.ROSTER_IDEMPOTENCY_TTL_HOURS,
    graphiql: e.ROSTER_GRAPHIQL ? e.ROSTER_GRAPHIQL === 'true' : e.NODE_ENV !== 'production',
    metrics: { enabled: e.ROSTER_METRICS === 'true', token: e.ROSTER_METRICS_TOKEN },
    logLevel: e.LOG_LEVEL,
    ...overrides,
  };
  if (config.env === 'production' && !config.apiKey) {
    throw new ConfigError('Invalid configuration: ROSTER_API_KEY is required when NODE_ENV=production');
  }
  // Embedded PGlite survives a crash of the process but not of the machine (it cannot fsync): production must
  // choose PostgreSQL, or accept that explicitly.
  if (config.env === 'production' && !config.databaseUrl && e.ROSTER_ALLOW_EMBEDDED_IN_PRODUCTION !== 'true') {
    throw new ConfigError(
      'Invalid configuration: NODE_ENV=production needs DATABASE_URL. The embedded database survives process crashes but not power loss ' +
        '(PGlite cannot fsync); set ROSTER_ALLOW_EMBEDDED_IN_PRODUCTION=true to accept that.',
    );
  }
  return Object.freeze(config);
}
