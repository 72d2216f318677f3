/**
 * Better Auth as an application would run it, for `npm run bench -- peers`: a plain `node:http` server with
 * better-auth's node handler under `/api/auth/*`, the `admin` and `organization` plugins, `pg` on PostgreSQL.
 *
 *   node --import tsx bench/peers/better-auth-server.ts            serve (PORT, HOST, DATABASE_URL, BETTER_AUTH_SECRET)
 *   node --import tsx bench/peers/better-auth-server.ts --migrate  run Better Auth's own migration, print a JSON summary
 *
 * One route is the application's own: `POST /app/organization/add-member`. The organization plugin's `addMember`
 * is a server-only API (no HTTP endpoint; over HTTP it offers invite + accept), so an application that adds a user
 * to an organization directly wraps it like this: check the caller's session (an admin), then call
 * `auth.api.addMember`. Everything else the bench calls is a stock Better Auth endpoint.
 */
import http from 'node:http';
import pg from 'pg';
import { betterAuth, type BetterAuthOptions } from 'better-auth';
import { APIError } from 'better-auth/api';
import { getMigrations } from 'better-auth/db/migration';
import { fromNodeHeaders, toNodeHandler } from 'better-auth/node';
import { admin, organization } from 'better-auth/plugins';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? '4100');
const baseURL = `http://${host}:${port}`;
// Same pool size as Roster's (pg's default of 10).
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 10 });

const options = {
  baseURL,
  secret: env('BETTER_AUTH_SECRET'),
  database: pool,
  // For the admin's own sign-up and the "create a user with a password" variant; the directory-style users the bench
  // creates and looks up have no password (admin create-user without one makes no credential account).
  emailAndPassword: { enabled: true },
  plugins: [
    admin(),
    // The default limit is 100 members per organization; the bench seeds 1,000 and adds thousands more.
    organization({ membershipLimit: 10_000_000 }),
  ],
  // Better Auth limits by default in production (100 requests per 10 s per client and path, in memory), which would
  // throttle a benchmark. Kept on, in memory, with a ceiling no run reaches, as Roster's limiter is (600,000 a minute
  // per API key): both pay for counting, neither refuses.
  rateLimit: { enabled: true, storage: 'memory', window: 60, max: 1_000_000_000 },
  telemetry: { enabled: false },
  logger: { level: 'warn' },
} satisfies BetterAuthOptions;

if (process.argv.includes('--migrate')) {
  const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(options);
  await runMigrations();
  process.stdout.write(
    `${JSON.stringify({ created: toBeCreated.map((t) => t.table), added: toBeAdded.map((t) => `${t.table}(${Object.keys(t.fields).join(', ')})`) })}\n`,
  );
  await pool.end();
  process.exit(0);
}

const auth = betterAuth(options);
const authHandler = toNodeHandler(auth);

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/** The application's route around the server-only `addMember`: an admin's session, then the plugin's own checks. */
async function addMemberRoute(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  try {
    const body = (await readJson(req)) as { organizationId?: unknown; userId?: unknown; role?: unknown };
    if (typeof body.organizationId !== 'string' || typeof body.userId !== 'string') {
      send(res, 400, { message: 'organizationId and userId are required' });
      return;
    }
    const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
    if (!session) {
      send(res, 401, { message: 'no session' });
      return;
    }
    if (session.user.role !== 'admin') {
      send(res, 403, { message: 'admins only' });
      return;
    }
    const member = await auth.api.addMember({
      body: { organizationId: body.organizationId, userId: body.userId, role: body.role === 'admin' ? 'admin' : 'member' },
    });
    send(res, 200, member);
  } catch (e) {
    if (e instanceof APIError) send(res, e.statusCode, { message: e.message });
    else {
      process.stderr.write(`add-member: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      send(res, 500, { message: 'internal error' });
    }
  }
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/api/auth/')) {
    void authHandler(req, res);
  } else if (req.method === 'POST' && url === '/app/organization/add-member') {
    void addMemberRoute(req, res);
  } else if (req.method === 'GET' && url === '/healthz') {
    send(res, 200, { ok: true });
  } else {
    send(res, 404, { message: 'not found' });
  }
});

server.listen(port, host);

const stop = () => {
  server.close(() => void pool.end().finally(() => process.exit(0)));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
