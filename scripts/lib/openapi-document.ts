/**
 * The OpenAPI document the server generates from its route schemas (the same as GET /openapi.json), built on an
 * in-memory database so scripts need no running server.
 */
import { buildApp } from '../../packages/server/src/app.ts';
import { loadConfig } from '../../packages/server/src/config.ts';
import { openDatabase } from '../../packages/server/src/db/database.ts';
import { migrateToLatest } from '../../packages/server/src/db/migrate.ts';

export async function buildOpenApiDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({ NODE_ENV: 'test', ROSTER_API_KEY: 'export-openapi-key-0123456789', LOG_LEVEL: 'silent' });
  const database = await openDatabase({ dataDir: 'memory://' });
  try {
    await migrateToLatest(database.db as never);
    const { server } = await buildApp({ config, db: database.db, logger: false });
    await server.ready();
    const document = server.swagger() as unknown as Record<string, unknown>;
    await server.close();
    return document;
  } finally {
    await database.close();
  }
}
