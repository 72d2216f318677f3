import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.ts';
import { VERSION } from '../../version.ts';

/**
 * `GET /`: what this server is and where everything is. A browser (`Accept: text/html`) gets a page; anything
 * else (curl, `Accept: application/json`) gets the same index as JSON.
 */

interface Link {
  readonly key: string;
  readonly path: string;
  readonly title: string;
  readonly description: string;
}

function linksFor(config: Config): Link[] {
  const links: (Link | false)[] = [
    config.graphiql && { key: 'graphiql', path: '/graphiql', title: 'GraphiQL', description: 'Write and run GraphQL queries in the browser, with the schema’s docs.' },
    { key: 'graphql', path: '/graphql', title: 'GraphQL endpoint', description: 'POST queries here (also /v01/server/graphql, the @roq/nodejs SDK’s path).' },
    { key: 'restReference', path: '/docs', title: 'REST reference', description: 'Every /v3 route with its request and answer, to try out in the browser.' },
    { key: 'openapi', path: '/openapi.json', title: 'OpenAPI document', description: 'The REST API as OpenAPI 3.1, for code generators and API tools.' },
    config.metrics.enabled && {
      key: 'metrics',
      path: '/metrics',
      title: 'Metrics',
      description: `Prometheus metrics${config.metrics.token ? ' (needs the metrics token)' : ''}.`,
    },
    { key: 'health', path: '/healthz', title: 'Liveness', description: 'Answers 200 while the process is up.' },
    { key: 'readiness', path: '/readyz', title: 'Readiness', description: 'Answers 200 while the database answers and the server is not shutting down.' },
    { key: 'jwks', path: '/.well-known/jwks.json', title: 'Signing keys (JWKS)', description: 'The public keys that verify Roster’s tokens.' },
  ];
  return links.filter((link): link is Link => link !== false);
}

const ORIGIN = '__ROSTER_ORIGIN__';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function html(links: readonly Link[]): string {
  const items = links
    .map((l) => `      <li><a href="${escapeHtml(l.path)}">${escapeHtml(l.title)}</a> <code>${escapeHtml(l.path)}</code><br><span>${escapeHtml(l.description)}</span></li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Roster ${escapeHtml(VERSION)}</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
    h1 { margin-bottom: 0; } .version { color: #59636e; margin-top: 0; }
    ul { padding-left: 1.2rem; } li { margin: 0.6rem 0; } li span { color: #59636e; }
    code, pre { font: 14px ui-monospace, monospace; background: #f6f8fa; border-radius: 4px; padding: 0.1rem 0.3rem; }
    pre { padding: 0.8rem; overflow-x: auto; }
  </style>
</head>
<body>
  <main>
    <h1>Roster</h1>
    <p class="version">version ${escapeHtml(VERSION)}</p>
    <p>A multi-tenant directory service for users, tenants (companies), user groups, their members and managers,
      roles and permissions, over GraphQL, REST and a typed SDK.</p>
    <h2>Start here</h2>
    <ul>
${items}
    </ul>
    <h2>Try it</h2>
    <p>Every API call needs the super-admin API key that Roster printed at its first start (or <code>ROSTER_API_KEY</code>):</p>
    <pre>curl -s ${ORIGIN}/graphql -H "authorization: Bearer $KEY" \\
     -H 'content-type: application/json' -d '{"query":"{ tenants { data { id name } } }"}'</pre>
  </main>
</body>
</html>
`;
}

export async function registerLandingPage(app: FastifyInstance, config: Config): Promise<void> {
  const links = linksFor(config);
  const page = html(links);
  const index = {
    name: 'Roster',
    description: 'Multi-tenant directory service for users, tenants, user groups, roles and permissions: GraphQL, REST and a typed SDK',
    version: VERSION,
    links: Object.fromEntries(links.map((l) => [l.key, l.path])),
  };
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    reply.header('vary', 'accept');
    if ((request.headers.accept ?? '').includes('text/html')) {
      // The example is written for the address the browser used (escaped: the Host header is the caller's).
      const origin = escapeHtml(`${request.protocol}://${request.host}`);
      return reply.type('text/html; charset=utf-8').send(page.replace(ORIGIN, origin));
    }
    return reply.send(index);
  });
}
