import http from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

/**
 * Minimal keep-alive HTTP/1.1 client on `node:http` (cheaper per request than `fetch`, which matters because
 * the load generator shares the machine's cores with the server and PostgreSQL). Loopback only.
 */
export class HttpClient {
  readonly #agent: http.Agent;
  readonly #host: string;
  readonly #port: number;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, options: { connections: number; headers?: Record<string, string>; timeoutMs?: number }) {
    const url = new URL(baseUrl);
    assertLoopback(url.hostname);
    this.#host = url.hostname;
    this.#port = Number(url.port);
    this.#headers = options.headers ?? {};
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  }

  request(method: 'GET' | 'POST' | 'PATCH', path: string, body?: string): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...this.#headers };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request(
        { host: this.#host, port: this.#port, method, path, headers, agent: this.#agent, timeout: this.#timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${this.#timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async getJson<T>(path: string): Promise<T> {
    const res = await this.request('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
    return JSON.parse(res.body) as T;
  }

  close(): void {
    this.#agent.destroy();
  }
}

interface GraphqlBody<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POST /graphql; throws on any HTTP or GraphQL error so a broken server cannot produce flattering numbers. */
export async function graphql<T>(client: HttpClient, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await client.request('POST', '/graphql', JSON.stringify({ query, variables }));
  let parsed: GraphqlBody<T>;
  try {
    parsed = JSON.parse(res.body) as GraphqlBody<T>;
  } catch {
    throw new Error(`GraphQL: HTTP ${res.status}, body is not JSON: ${res.body.slice(0, 300)}`);
  }
  if (res.status !== 200 || parsed.errors?.length || parsed.data == null) {
    throw new Error(`GraphQL: HTTP ${res.status}: ${JSON.stringify(parsed.errors ?? parsed).slice(0, 500)}`);
  }
  return parsed.data;
}

export function assertLoopback(hostname: string): void {
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(hostname)) {
    throw new Error(`Benchmarks only target the loopback interface; refusing ${hostname}`);
  }
}

/**
 * Creates `count` users through GraphQL, `batch` aliased `createUser` mutations per request and 4 requests at a
 * time; `fields(i)` gives user i's input. Returns each user's `id` and `reference`, in order.
 */
export async function seedUsers(
  client: HttpClient,
  count: number,
  fields: (index: number) => Record<string, unknown>,
  batch = 100,
): Promise<{ id: string; reference: string }[]> {
  const users = new Array<{ id: string; reference: string }>(count);
  const batches = Math.ceil(count / batch);
  let next = 0;
  const worker = async () => {
    for (let b = next++; b < batches; b = next++) {
      const first = b * batch;
      const n = Math.min(batch, count - first);
      const defs: string[] = [];
      const selections: string[] = [];
      const variables: Record<string, unknown> = {};
      for (let j = 0; j < n; j++) {
        defs.push(`$u${j}: UserCreateDto!`);
        selections.push(`u${j}: createUser(user: $u${j}) { id reference }`);
        variables[`u${j}`] = fields(first + j);
      }
      const data = await graphql<Record<string, { id: string; reference: string } | undefined>>(client, `mutation seed(${defs.join(', ')}) { ${selections.join(' ')} }`, variables);
      for (let j = 0; j < n; j++) {
        const u = data[`u${j}`];
        if (!u?.id) throw new Error(`seed batch ${b}: no user u${j}`);
        users[first + j] = u;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, batches) }, worker));
  return users;
}
