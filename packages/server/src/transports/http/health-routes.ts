import type { FastifyInstance } from 'fastify';
import type { HealthService } from '../../services/health.ts';

/** How long `/readyz` waits for the database before answering that it is busy. */
const READY_PROBE_MILLIS = 1000;

/**
 * `/healthz`: the process is up. `/readyz`: it can reach its database and is not shutting down. Both answer within
 * a second whatever the database is doing: a database busy past that (the embedded one runs one statement at a
 * time) is reported as not ready, not waited for.
 */
export async function registerHealthRoutes(app: FastifyInstance, health: HealthService, isClosing: () => boolean): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (isClosing()) return reply.code(503).send({ status: 'closing' });
    let timer: NodeJS.Timeout | undefined;
    const busy = new Promise<'busy'>((resolve) => (timer = setTimeout(() => resolve('busy'), READY_PROBE_MILLIS)));
    try {
      const probe = health.databaseAnswers().then(() => 'ready' as const);
      probe.catch(() => undefined);
      const outcome = await Promise.race([probe, busy]);
      if (outcome === 'busy') return reply.code(503).send({ status: 'database busy' });
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'database unavailable' });
    } finally {
      clearTimeout(timer);
    }
  });
}
