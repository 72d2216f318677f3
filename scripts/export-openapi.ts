/**
 * Writes the OpenAPI document the server generates from its route schemas (the same as GET /openapi.json) to
 * the path given, for linting in CI: `node --import tsx scripts/export-openapi.ts openapi.json`.
 */
import { writeFile } from 'node:fs/promises';
import { buildApp } from '../packages/server/src/app.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { openDatabase } from '../packages/server/src/db/database.ts';
import { migrateToLatest } from '../packages/server/src/db/migrate.ts';

const target = process.argv[2] ?? 'openapi.json';
const config = loadConfig({ NODE_ENV: 'test', ROSTER_API_KEY: 'export-openapi-key-0123456789', LOG_LEVEL: 'silent' });
const database = await openDatabase({ dataDir: 'memory://' });
await migrateToLatest(database.db as never);
const { server } = await buildApp({ config, db: database.db, logger: false });
await server.ready();
await writeFile(target, `${JSON.stringify(server.swagger(), null, 2)}\n`);
await server.close();
await database.close();
process.stdout.write(`wrote ${target}\n`);
