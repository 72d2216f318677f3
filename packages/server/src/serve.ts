import type { Config } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { buildApp } from './app.ts';
import { StartupError } from './errors.ts';

/** Why listening failed, in words an operator can act on, when it is something they can fix; else undefined. */
function listenFailure(error: unknown, port: number): string | undefined {
  switch ((error as NodeJS.ErrnoException | null)?.code) {
    case 'EADDRINUSE':
      return 'the port is already in use (EADDRINUSE); set PORT to another port';
    case 'EACCES':
      return port < 1024 ? 'permission denied (EACCES): ports below 1024 need privileges; set PORT to 1024 or above' : 'permission denied (EACCES); set PORT to another port';
    case 'EADDRNOTAVAIL':
      return "the address is not one of this machine's (EADDRNOTAVAIL); set HOST to one of its addresses, e.g. 127.0.0.1 or 0.0.0.0";
    default:
      return undefined;
  }
}

/** Opens the database, migrates it, and serves until SIGTERM or SIGINT: the whole server, or one cluster worker. */
export async function serve(config: Config): Promise<void> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    preparedStatements: config.preparedStatements ? undefined : false,
    jit: config.pgJit,
    statementTimeoutMs: config.statementTimeoutMs,
    onIdleError: (err) => process.stderr.write(`${JSON.stringify({ level: 40, msg: 'idle database connection failed; it will be replaced', err: err.message })}\n`),
  });
  await migrateToLatest(database.db as never);
  const { server, generatedApiKey } = await buildApp({ config, db: database.db });

  if (generatedApiKey) {
    // Printed once, never logged: only its hash is stored.
    process.stdout.write(
      `\n  Roster generated a super-admin API key (shown only now, store it safely):\n\n    ${generatedApiKey}\n\n` +
        `  Use it as "Authorization: Bearer <key>", or set ROSTER_API_KEY to choose your own.\n\n`,
    );
  }

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    server.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      server.log.error('shutdown took longer than 25 s; exiting');
      process.exit(1);
    }, 25_000);
    force.unref();
    // Connections busy when the close began stay open after their last answer (keep-alive) until the client lets go;
    // they are closed as they fall idle. In-flight requests still finish.
    const sweep = setInterval(() => server.server.closeIdleConnections(), 100);
    sweep.unref();
    try {
      await server.close();
      clearInterval(sweep);
      await database.close();
      server.log.info('database closed; bye');
      process.exit(0);
    } catch (e) {
      server.log.error({ err: e }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    await server.listen({ host: config.host, port: config.port });
  } catch (e) {
    const reason = listenFailure(e, config.port);
    if (reason === undefined) throw e;
    // Nothing was served: close the app and the database (and with it the data directory's lock) before exiting.
    await server.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw new StartupError(`Roster cannot listen on ${config.host}:${config.port}: ${reason}`);
  }
  server.log.info(
    { database: database.kind, dataDir: database.kind === 'pglite' ? config.dataDir : undefined },
    `Roster listening on http://${config.host}:${config.port} (open it in a browser for the start page; GraphQL at /graphql)`,
  );
}
