import { availableParallelism } from 'node:os';
import { z } from 'zod';

const intFrom = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: intFrom(4000, 0, 65535),
  DATABASE_URL: z.string().url().optional(),
  ROSTER_DB_POOL_SIZE: intFrom(10, 1, 1000),
  ROSTER_WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default(1),
  ROSTER_PG_PREPARED_STATEMENTS: z.enum(['true', 'false']).default('true'),
  ROSTER_PG_JIT: z.enum(['off', 'server']).default('off'),
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
  ROSTER_FILTER_LIST_MAX: intFrom(1000, 1, 100_000),
  ROSTER_STATEMENT_TIMEOUT_MS: intFrom(30_000, 0, 3_600_000),
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
  ROSTER_LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
});

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly host: string;
  readonly port: number;
  /** PostgreSQL connection string; when absent Roster runs embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** PostgreSQL connections this process (each worker) may open (PGlite has one). */
  readonly dbPoolSize: number;
  /** Processes serving requests on one port (node:cluster); 1 runs the server in this process. PostgreSQL only. */
  readonly workers: number;
  /** Run frequent statements as named (prepared) statements; off for poolers that cannot keep them. */
  readonly preparedStatements: boolean;
  /** `off`: Roster's PostgreSQL sessions run with `jit = off`; `server`: PostgreSQL's own setting applies. */
  readonly pgJit: 'off' | 'server';
  /** PostgreSQL cancels a statement of Roster's that runs longer than this (ms); 0: no limit. */
  readonly statementTimeoutMs: number;
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
    /** Most entries in one list of a filter (`valueIn`, `valueNotIn`, `all`). */
    readonly filterList: number;
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
  /** `pretty`: coloured, one readable line per entry (pino-pretty); `json`: JSON lines, for log collectors. */
  readonly logFormat: 'json' | 'pretty';
  /**
   * OpenTelemetry traces exported over OTLP/HTTP; undefined (nothing loaded) unless `OTEL_EXPORTER_OTLP_ENDPOINT` or
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set.
   */
  readonly tracing: TracingConfig | undefined;
}

export type TracesSampler = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

/** OpenTelemetry's standard variables, as far as Roster uses them; read only when an OTLP endpoint is set. */
export interface TracingConfig {
  /** Where spans are POSTed (OTLP/HTTP JSON): the traces endpoint, or the base endpoint with `/v1/traces`. */
  readonly endpoint: string;
  /** `OTEL_EXPORTER_OTLP_HEADERS` merged with `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (the latter wins). */
  readonly headers: Readonly<Record<string, string>>;
  /** `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT`: how long one export may take. */
  readonly exportTimeoutMillis: number;
  readonly serviceName: string;
  /** `OTEL_RESOURCE_ATTRIBUTES`, without `service.name` (which is `serviceName`). */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: TracesSampler;
  /** The ratio of the `traceidratio` samplers, 0 to 1 (`OTEL_TRACES_SAMPLER_ARG`, default 1). */
  readonly samplerRatio: number;
  /** The batch span processor: `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_EXPORT_TIMEOUT`. */
  readonly batch: {
    readonly scheduledDelayMillis: number;
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
    readonly exportTimeoutMillis: number;
  };
}

export class ConfigError extends Error {}

/** Each worker's share of a pool of `total` connections when `ROSTER_DB_POOL_SIZE` is unset: at least 2. */
export function workerPoolSize(total: number, workers: number): number {
  return workers > 1 ? Math.max(2, Math.ceil(total / workers)) : total;
}

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
  const workers = e.ROSTER_WORKERS === 'auto' ? availableParallelism() : e.ROSTER_WORKERS;
  if (workers > 1 && !e.DATABASE_URL) {
    throw new ConfigError('Invalid configuration: ROSTER_WORKERS above 1 needs DATABASE_URL (PostgreSQL); the embedded database belongs to one process');
  }
  const config: Config = {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.ROSTER_DATA_DIR,
    apiKey: e.ROSTER_API_KEY,
    environmentId: e.ROSTER_ENVIRONMENT_ID,
    // Unset, the default of 10 connections is shared among the workers, so that adding workers does not add load
    // on PostgreSQL; set, it is each worker's.
    dbPoolSize: env.ROSTER_DB_POOL_SIZE === undefined ? workerPoolSize(e.ROSTER_DB_POOL_SIZE, workers) : e.ROSTER_DB_POOL_SIZE,
    workers,
    preparedStatements: e.ROSTER_PG_PREPARED_STATEMENTS === 'true',
    pgJit: e.ROSTER_PG_JIT,
    statementTimeoutMs: e.ROSTER_STATEMENT_TIMEOUT_MS,
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
      filterList: e.ROSTER_FILTER_LIST_MAX,
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
    // Readable lines for a person at a terminal during development; JSON lines for everything else.
    logFormat: e.ROSTER_LOG_FORMAT ?? (process.stdout.isTTY && e.NODE_ENV !== 'production' ? 'pretty' : 'json'),
    tracing: tracingConfig(env),
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

const SAMPLERS: readonly TracesSampler[] = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];
// RFC 7230: a header name is a token. Values may hold no control characters (a decoded %0D%0A would split the request).
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const noControlCharacters = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 32 || c === 127) return false;
  }
  return true;
};

/**
 * OpenTelemetry's variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
 * Without an OTLP endpoint, or with `OTEL_SDK_DISABLED=true`, tracing is off and no other `OTEL_*` variable is read,
 * so a malformed one set for other services never stops Roster. With one, every variable Roster uses is checked
 * here, and a bad value stops Roster at start like any other (values are not echoed: headers hold credentials).
 */
function tracingConfig(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  // The specification reads an empty value as unset.
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  if (read('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  const tracesEndpoint = read('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = read('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (tracesEndpoint === undefined && baseEndpoint === undefined) return undefined;

  const problems: string[] = [];
  const httpUrl = (name: string, value: string): URL | undefined => {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      problems.push(`${name}: must be an http:// or https:// URL (the OTLP/HTTP receiver, such as http://otel-collector:4318)`);
      return undefined;
    }
    return url;
  };
  let endpoint: string | undefined;
  if (tracesEndpoint !== undefined) {
    // Used as given (the specification's rule for the signal-specific variable).
    endpoint = httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint)?.toString();
  } else if (baseEndpoint !== undefined) {
    const url = httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', baseEndpoint);
    if (url) {
      url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
      endpoint = url.toString();
    }
  }

  // Roster sends OTLP/HTTP with JSON bodies, which collectors take on the same endpoint as http/protobuf; gRPC is
  // another port and protocol, so asking for it is a mistake worth stopping for.
  const protocolName = ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'].find((n) => read(n) !== undefined);
  const protocol = protocolName === undefined ? undefined : read(protocolName);
  if (protocol !== undefined && protocol !== 'http/json' && protocol !== 'http/protobuf') {
    problems.push(`${protocolName}: Roster exports OTLP over HTTP (http/json or http/protobuf); gRPC is not supported`);
  }

  // `key=value,key2=value2`, values percent-encoded (W3C Baggage style), as both headers and resource attributes are.
  const keyValues = (name: string, validKey: RegExp, validValue: (value: string) => boolean): Record<string, string> => {
    const out: Record<string, string> = {};
    const raw = read(name);
    if (raw === undefined) return out;
    for (const [i, item] of raw.split(',').entries()) {
      if (item.trim() === '') continue;
      const at = item.indexOf('=');
      const key = at < 0 ? '' : item.slice(0, at).trim();
      let value: string | undefined;
      try {
        value = at < 0 ? undefined : decodeURIComponent(item.slice(at + 1).trim());
      } catch {
        value = undefined;
      }
      if (!validKey.test(key) || value === undefined || !validValue(value)) {
        problems.push(`${name}: entry ${i + 1} is not key=value (comma-separated, values percent-encoded)`);
        continue;
      }
      out[key] = value;
    }
    return out;
  };
  const headers = {
    ...keyValues('OTEL_EXPORTER_OTLP_HEADERS', HEADER_NAME_RE, noControlCharacters),
    ...keyValues('OTEL_EXPORTER_OTLP_TRACES_HEADERS', HEADER_NAME_RE, noControlCharacters),
  };
  const resourceAttributes = keyValues('OTEL_RESOURCE_ATTRIBUTES', /^[!-~]{1,255}$/, noControlCharacters);
  const serviceName = read('OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? 'roster';
  delete resourceAttributes['service.name'];

  const rawSampler = read('OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_always_on';
  const sampler = SAMPLERS.find((s) => s === rawSampler);
  if (sampler === undefined) problems.push(`OTEL_TRACES_SAMPLER: must be one of ${SAMPLERS.join(', ')}`);
  let samplerRatio = 1;
  const rawRatio = read('OTEL_TRACES_SAMPLER_ARG');
  // The argument only means something to the ratio samplers; the others ignore it, as the specification says.
  if (rawRatio !== undefined && sampler?.endsWith('traceidratio')) {
    samplerRatio = Number(rawRatio);
    if (!/^[0-9.eE+-]+$/.test(rawRatio) || !(samplerRatio >= 0 && samplerRatio <= 1)) {
      problems.push('OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1 (the share of new traces recorded)');
    }
  }

  /** A whole number of the first of `names` that is set, else `fallback`. */
  const int = (names: readonly string[], fallback: number, min: number, max: number): number => {
    const name = names.find((n) => read(n) !== undefined);
    const raw = name === undefined ? undefined : read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name}: must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const exportTimeoutMillis = int(['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'], 10_000, 1, 600_000);
  const batch = {
    scheduledDelayMillis: int(['OTEL_BSP_SCHEDULE_DELAY'], 5000, 1, 3_600_000),
    maxQueueSize: int(['OTEL_BSP_MAX_QUEUE_SIZE'], 2048, 1, 1_000_000),
    maxExportBatchSize: int(['OTEL_BSP_MAX_EXPORT_BATCH_SIZE'], 512, 1, 1_000_000),
    exportTimeoutMillis: int(['OTEL_BSP_EXPORT_TIMEOUT'], 30_000, 1, 600_000),
  };
  if (batch.maxExportBatchSize > batch.maxQueueSize) problems.push('OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must not exceed OTEL_BSP_MAX_QUEUE_SIZE');

  if (problems.length > 0 || endpoint === undefined || sampler === undefined) {
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze({
    endpoint,
    headers: Object.freeze(headers),
    exportTimeoutMillis,
    serviceName,
    resourceAttributes: Object.freeze(resourceAttributes),
    sampler,
    samplerRatio,
    batch: Object.freeze(batch),
  });
}
