/**
 * The comparison point for Roster's lookup-by-reference: a bare Fastify route over a `pg` Pool running the statement
 * Roster runs for it, with no auth, GraphQL, validation or services. Run as its own process by the `core` suite:
 *
 *   DATABASE_URL=... PORT=... [POOL_SIZE=10] node --import tsx bench/lib/bare-lookup-server.ts
 */
import Fastify from 'fastify';
import pg from 'pg';
import { lookupByReferenceValues, prepared, ROSTER_LOOKUP_BY_REFERENCE, ROSTER_SESSION } from './postgres.ts';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');
const port = Number(process.env.PORT ?? 0);
// Same default pool size as Roster's openDatabase(), so the comparison is about the code path, not connections.
const pool = new pg.Pool({ ...ROSTER_SESSION, connectionString: url, max: Number(process.env.POOL_SIZE ?? 10) });

// Named, as Roster runs its frequent statements (db/prepared-statements.ts).
const lookup = prepared(ROSTER_LOOKUP_BY_REFERENCE);

const app = Fastify({ logger: false });

app.get('/readyz', async () => {
  await pool.query('select 1');
  return { status: 'ready' };
});

app.get<{ Querystring: { ref?: string } }>('/lookup', async (request, reply) => {
  const ref = request.query.ref;
  if (typeof ref !== 'string' || ref.length === 0) return reply.code(400).send({ error: 'ref is required' });
  const { rows } = await pool.query<{ id: string; email: string }>(lookup(lookupByReferenceValues(ref)));
  return { data: rows.map((r) => ({ id: r.id, email: r.email })) };
});

const shutdown = async () => {
  await app.close();
  await pool.end();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());

await app.listen({ host: '127.0.0.1', port });
