/**
 * Writes the OpenAPI document the server generates from its route schemas (the same as GET /openapi.json) to
 * the path given, for linting in CI: `node --import tsx scripts/export-openapi.ts openapi.json`.
 */
import { writeFile } from 'node:fs/promises';
import { buildOpenApiDocument } from './lib/openapi-document.ts';

const target = process.argv[2] ?? 'openapi.json';
await writeFile(target, `${JSON.stringify(await buildOpenApiDocument(), null, 2)}\n`);
process.stdout.write(`wrote ${target}\n`);
