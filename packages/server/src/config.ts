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
  ROSTER_BODY_LIMIT_BYTES: intFrom(2 * 1024 * 1024, 1024, 256 * 1024 * 1024),
  ROSTER_GRAPHIQL: z.enum(['true', 'false']).optional(),
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
  readonly limits: {
    readonly listDefault: number;
    readonly listMax: number;
    /** Most users one membership call may name. */
    readonly batchMax: number;
    readonly queryDepth: number;
    /** Most field selections (aliases included) one GraphQL document may have. */
    readonly queryFields: number;
    readonly bodyBytes: number;
    readonly stringLength: number;
    readonly customDataBytes: number;
  };
  readonly graphiql: boolean;
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
    limits: {
      listDefault: e.ROSTER_LIST_LIMIT_DEFAULT,
      listMax: e.ROSTER_LIST_LIMIT_MAX,
      batchMax: e.ROSTER_BATCH_MAX,
      queryDepth: e.ROSTER_QUERY_DEPTH_MAX,
      queryFields: e.ROSTER_QUERY_FIELDS_MAX,
      bodyBytes: e.ROSTER_BODY_LIMIT_BYTES,
      stringLength: 255,
      customDataBytes: 64 * 1024,
    },
    graphiql: e.ROSTER_GRAPHIQL ? e.ROSTER_GRAPHIQL === 'true' : e.NODE_ENV !== 'production',
    logLevel: e.LOG_LEVEL,
    ...overrides,
  };
  if (config.env === 'production' && !config.apiKey) {
    throw new ConfigError('Invalid configuration: ROSTER_API_KEY is required when NODE_ENV=production');
  }
  return Object.freeze(config);
}
