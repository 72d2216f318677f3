/**
 * `npm run build` (last step): the server as one ES module, `packages/server/dist/bundle/roster.mjs`, which
 * `npm run start:built` runs. Node then reads one file instead of resolving and compiling some 600 modules of
 * Fastify, Mercurius, Kysely, Ajv and the rest, about half of the start-up time (docs/performance.md).
 *
 * Left outside the bundle, loaded from node_modules as usual: packages that find files of their own next to
 * their code (PGlite's WebAssembly and data files, Swagger UI's static assets), and the ones Roster loads only
 * when configured (OpenTelemetry, ioredis), so an installation without them never reads them.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const server = path.join(root, 'packages', 'server');
// `--outdir <dir>` writes elsewhere (the bundle test builds into a temporary directory).
const outdirFlag = process.argv.indexOf('--outdir');
const outdir = outdirFlag > 0 && process.argv[outdirFlag + 1] ? path.resolve(process.argv[outdirFlag + 1]!) : path.join(server, 'dist', 'bundle');

const external = [
  '@electric-sql/pglite',
  '@electric-sql/pglite/*',
  '@fastify/swagger-ui',
  '@opentelemetry/*',
  'ioredis',
  // An optional native driver that `pg` tries to require only when asked to.
  'pg-native',
];

const { version } = JSON.parse(readFileSync(path.join(server, 'package.json'), 'utf8')) as { version: string };

mkdirSync(outdir, { recursive: true });
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Less to read and parse at every start (identifiers are kept: stack traces and plugin names stay readable).
  minifyWhitespace: true,
  minifySyntax: true,
  external,
  logLevel: 'warning',
} as const;
const result = await build({
  ...common,
  entryPoints: [path.join(server, 'src', 'main.ts')],
  outfile: path.join(outdir, 'roster.mjs'),
  define: { 'process.env.ROSTER_BUILD_VERSION': JSON.stringify(version) },
  // The CommonJS packages inside (Fastify and most of its plugins) call require() and read __dirname.
  banner: {
    js: [
      "import { createRequire as __rosterCreateRequire } from 'node:module';",
      "import { fileURLToPath as __rosterFileURLToPath } from 'node:url';",
      'const require = __rosterCreateRequire(import.meta.url);',
      'const __filename = __rosterFileURLToPath(import.meta.url);',
      "const __dirname = __rosterFileURLToPath(new URL('.', import.meta.url));",
    ].join('\n'),
  },
  legalComments: 'linked',
  metafile: true,
});
// The embedded database's worker thread (db/pglite-thread.ts loads it from beside the bundle).
await build({ ...common, entryPoints: [path.join(server, 'src', 'db', 'pglite-worker.ts')], outfile: path.join(outdir, 'pglite-worker.mjs') });
// Read at start-up relative to the module (transports/graphql/plugin.ts).
copyFileSync(path.join(server, 'src', 'transports', 'graphql', 'schema.graphql'), path.join(outdir, 'schema.graphql'));

const inputs = Object.keys(result.metafile.inputs).length;
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
process.stdout.write(`bundled ${inputs} modules into ${path.relative(root, path.join(outdir, 'roster.mjs'))} (${(bytes / 1e6).toFixed(1)} MB with its source map)\n`);
