import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * GraphiQL at `/graphiql`, served whole by Roster: the page, its start-up script and GraphiQL's and React's
 * browser builds read from their npm packages, so it works on a machine without internet access (no CDN). GraphiQL
 * 3.8 is the last release with a single-file browser build, the one Mercurius loads from unpkg.
 */

const require = createRequire(import.meta.url);
const gzipAsync = promisify(gzip);

interface Asset {
  readonly file: string;
  readonly contentType: string;
}

function packageAsset(name: string, file: string, contentType: string): { url: string; asset: Asset } {
  const manifest = require.resolve(`${name}/package.json`);
  const { version } = require(manifest) as { version: string };
  const base = path.basename(file);
  // The version in the path lets browsers keep the file for good: a new version is a new URL.
  return { url: `/graphiql/assets/${name}-${version}-${base}`, asset: { file: path.join(path.dirname(manifest), file), contentType } };
}

const JS = 'text/javascript; charset=utf-8';

const DEFAULT_QUERY = `# Welcome to Roster's GraphiQL.
#
# 1. Open "Headers" below and put your API key in place of PASTE_YOUR_API_KEY: the
#    super-admin key \`npm start\` printed at first start (or ROSTER_API_KEY), or a
#    user's token from POST /v01/authorize.
# 2. Press the refresh button on the left ("Re-fetch GraphQL schema") to load the
#    schema: the docs explorer and autocompletion need it.
# 3. Run this query with Ctrl-Enter (or the pink button).
#
# The REST API's reference is at /docs; the start page, /, links everything.

{
  tenants {
    data { id name isDefault }
    totalCount
  }
}
`;

const DEFAULT_HEADERS = `{
  "Authorization": "Bearer PASTE_YOUR_API_KEY"
}`;

/** Runs in the browser: the page allows scripts from this server only (no inline script), so it is a file. */
const START_SCRIPT = `'use strict';
(function () {
  var fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).href });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
    defaultHeaders: ${JSON.stringify(DEFAULT_HEADERS)},
    defaultEditorToolsVisibility: 'headers',
    isHeadersEditorEnabled: true,
    // A key in the headers editor is not written to the browser's storage.
    shouldPersistHeaders: false,
  }));
})();
`;

function page(scripts: readonly string[], stylesheet: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex">
  <title>Roster · GraphiQL</title>
  <link rel="stylesheet" href="${stylesheet}">
  <link rel="stylesheet" href="/graphiql/roster-graphiql.css">
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
${scripts.map((src) => `  <script src="${src}"></script>`).join('\n')}
</body>
</html>
`;
}

const PAGE_STYLE = 'html, body { height: 100%; margin: 0; } #graphiql { height: 100vh; }\n';

/** Registers `/graphiql` and its assets. */
export async function registerGraphiql(app: FastifyInstance): Promise<void> {
  const react = packageAsset('react', 'umd/react.production.min.js', JS);
  const reactDom = packageAsset('react-dom', 'umd/react-dom.production.min.js', JS);
  const graphiqlJs = packageAsset('graphiql', 'graphiql.min.js', JS);
  const graphiqlCss = packageAsset('graphiql', 'graphiql.min.css', 'text/css; charset=utf-8');
  const assets = new Map([react, reactDom, graphiqlJs, graphiqlCss].map(({ url, asset }) => [url, asset]));
  const html = page([react.url, reactDom.url, graphiqlJs.url, '/graphiql/roster-graphiql.js'], graphiqlCss.url);

  // Read and compressed once, on first request: GraphiQL's build is 3.5 MB, under 1 MB gzipped.
  const loaded = new Map<string, Promise<{ raw: Buffer; gzipped: Buffer }>>();
  const load = (url: string, asset: Asset) => {
    let entry = loaded.get(url);
    if (!entry) {
      entry = readFile(asset.file).then(async (raw) => ({ raw, gzipped: await gzipAsync(raw) }));
      entry.catch(() => loaded.delete(url));
      loaded.set(url, entry);
    }
    return entry;
  };
  const sendAsset = async (request: FastifyRequest, reply: FastifyReply, asset: Asset, url: string) => {
    const { raw, gzipped } = await load(url, asset);
    reply.header('content-type', asset.contentType).header('cache-control', 'public, max-age=31536000, immutable').header('vary', 'accept-encoding');
    if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(gzipped);
    return reply.send(raw);
  };

  app.get('/graphiql', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html));
  app.get('/graphiql/roster-graphiql.js', { schema: { hide: true } }, async (_request, reply) => reply.type(JS).header('cache-control', 'no-cache').send(START_SCRIPT));
  app.get('/graphiql/roster-graphiql.css', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(PAGE_STYLE),
  );
  app.get('/graphiql/assets/:file', { schema: { hide: true } }, async (request, reply) => {
    const url = `/graphiql/assets/${(request.params as { file: string }).file}`;
    const asset = assets.get(url);
    if (!asset) return reply.callNotFound();
    return sendAsset(request, reply, asset, url);
  });
}
