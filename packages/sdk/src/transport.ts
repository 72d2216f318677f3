import { codeOfStatus, errorsOfBody, RosterError } from './errors.ts';
import type { RequestOptions } from './types.ts';

export interface TransportOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:3000` */
  url: string;
  /** Milliseconds for each attempt (default 30,000) */
  timeoutMs?: number | undefined;
  /** Attempts after the first for a retryable failure (default 2) */
  retries?: number | undefined;
  /** First backoff delay in ms, doubled per attempt with jitter (default 250); a `Retry-After` takes precedence */
  retryDelayMs?: number | undefined;
  /** Longest wait before a retry (default 30,000 ms); a `Retry-After` asking for longer fails the call instead */
  maxRetryDelayMs?: number | undefined;
  /** Headers sent with every request */
  headers?: Record<string, string> | undefined;
  /** A `fetch` to use instead of the global one (a proxy agent, instrumentation) */
  fetch?: typeof fetch | undefined;
}

export interface HttpRequest {
  method: string;
  path: string;
  query?: Record<string, unknown> | undefined;
  body?: unknown;
  /** A read, or a write the server will not apply twice: retried on 503, 502, 504, timeouts and network errors */
  idempotent: boolean;
  /** The `Authorization` header value, asked for on each attempt so a refreshed token is used */
  authorization?: (() => Promise<string | undefined>) | undefined;
  /** Called once on a 401; returns true when a retry with fresh credentials makes sense */
  onUnauthorized?: (() => boolean) | undefined;
  options?: RequestOptions | undefined;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: unknown;
  requestId: string | undefined;
}

const RETRY_ALWAYS = new Set([429]); // refused before anything ran: safe for every call
const RETRY_IDEMPOTENT = new Set([502, 503, 504]);

/** HTTP with a timeout, an AbortSignal, retries with backoff, and errors as `RosterError`. */
export class Transport {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly config: TransportOptions) {
    if (typeof config.url !== 'string' || !/^https?:\/\//.test(config.url)) {
      throw new TypeError(`url must be an http(s) URL, got ${JSON.stringify(config.url)}`);
    }
    this.base = config.url.replace(/\/+$/, '');
    const globalFetch = typeof fetch === 'function' ? fetch : undefined;
    const chosen = config.fetch ?? globalFetch;
    if (!chosen) throw new TypeError('no fetch: pass one as the fetch option');
    this.fetchImpl = chosen;
  }

  /** Sends the request; resolves with a 2xx answer, or rejects with a `RosterError` after any retries. */
  async send(request: HttpRequest): Promise<HttpResponse> {
    const options = request.options ?? {};
    const retries = options.retries ?? this.config.retries ?? 2;
    // A write carrying an idempotency key is applied once by the server however often it is sent.
    const idempotent = request.idempotent || options.idempotencyKey !== undefined;
    let reauthenticated = false;
    for (let attempt = 0; ; attempt++) {
      // Obtaining credentials (a user token) has its own retries: a failure there fails the call as it is.
      const authorization = await request.authorization?.();
      let response: HttpResponse;
      try {
        response = await this.attempt(request, options, authorization);
      } catch (error) {
        if (!(error instanceof RosterError) || error.code === 'ABORTED' || !idempotent || attempt >= retries) throw error;
        await this.wait(this.backoff(attempt, undefined), options.signal);
        continue;
      }
      if (response.status < 400) return response;
      if (response.status === 401 && !reauthenticated && request.onUnauthorized?.()) {
        reauthenticated = true;
        attempt--;
        continue;
      }
      const error = this.errorOf(response);
      // A statement timeout would only time out again, at the same cost to the server: never retried.
      const retryable =
        RETRY_ALWAYS.has(response.status) || (idempotent && RETRY_IDEMPOTENT.has(response.status) && error.code !== 'STATEMENT_TIMEOUT');
      // A server asking for a longer wait than we are willing to make would only refuse again.
      const waitTooLong = error.retryAfterSeconds !== undefined && error.retryAfterSeconds * 1000 > (this.config.maxRetryDelayMs ?? 30_000);
      if (!retryable || waitTooLong || attempt >= retries) throw error;
      await this.wait(this.backoff(attempt, error.retryAfterSeconds), options.signal);
    }
  }

  private async attempt(request: HttpRequest, options: RequestOptions, authorization: string | undefined): Promise<HttpResponse> {
    const timeoutMs = options.timeoutMs ?? this.config.timeoutMs ?? 30_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json', ...this.config.headers, ...options.headers };
    if (authorization) headers.authorization = authorization;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
    let body: string | undefined;
    if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.body);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(request.path, request.query), { method: request.method, headers, body, signal });
    } catch (cause) {
      throw this.failure(cause, options.signal, timeout, timeoutMs, request);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (cause) {
      throw this.failure(cause, options.signal, timeout, timeoutMs, request);
    }
    let parsed: unknown = text;
    if (text.length > 0 && (res.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    } else if (text.length === 0) {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, requestId: res.headers.get('x-request-id') ?? undefined };
  }

  private failure(cause: unknown, signal: AbortSignal | undefined, timeout: AbortSignal, timeoutMs: number, request: HttpRequest): RosterError {
    const what = `${request.method} ${request.path}`;
    if (signal?.aborted) return new RosterError({ code: 'ABORTED', status: 0, message: `${what}: aborted by the caller`, cause: signal.reason ?? cause });
    if (timeout.aborted) return new RosterError({ code: 'TIMEOUT', status: 0, message: `${what}: no answer within ${timeoutMs} ms`, cause });
    const detail = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
    return new RosterError({ code: 'NETWORK_ERROR', status: 0, message: `${what}: ${detail}`, cause });
  }

  errorOf(response: HttpResponse, data?: unknown): RosterError {
    const parsed = errorsOfBody(response.body);
    const first = parsed.errors[0];
    const status = response.status >= 400 ? response.status : (parsed.status ?? response.status);
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    return new RosterError({
      code: first?.code ?? codeOfStatus(status),
      status,
      message: first?.message ?? (typeof response.body === 'string' && response.body ? response.body.slice(0, 500) : `HTTP ${status}`),
      ...(first?.field ? { field: first.field } : {}),
      ...(first?.details ? { details: first.details } : {}),
      errors: parsed.errors.length > 0 ? parsed.errors : undefined,
      requestId: parsed.requestId ?? response.requestId,
      data: data ?? (typeof response.body === 'object' && response.body !== null && 'data' in response.body ? response.body.data : undefined),
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    } as const);
  }

  private url(path: string, query: Record<string, unknown> | undefined): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null) continue;
      search.append(key, value instanceof Date ? value.toISOString() : String(value));
    }
    const qs = search.toString();
    return `${this.base}${path}${qs ? `?${qs}` : ''}`;
  }

  private backoff(attempt: number, retryAfterSeconds: number | undefined): number {
    const max = this.config.maxRetryDelayMs ?? 30_000;
    if (retryAfterSeconds !== undefined) return Math.min(max, retryAfterSeconds * 1000 + Math.random() * 100);
    const base = (this.config.retryDelayMs ?? 250) * 2 ** attempt;
    return Math.min(max, base / 2 + Math.random() * (base / 2));
  }

  private wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new RosterError({ code: 'ABORTED', status: 0, message: 'aborted by the caller', cause: signal.reason }));
      const onAbort = () => {
        clearTimeout(timer);
        reject(new RosterError({ code: 'ABORTED', status: 0, message: 'aborted by the caller', cause: signal?.reason }));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** `Retry-After` in seconds: a number of seconds or an HTTP date */
function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}
