import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * OpenAPI 3.1, generated from the REST route schemas (so the document cannot drift from what is validated),
 * at `GET /openapi.json`, with an interactive reference at `GET /docs`.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Roster REST API',
        version: '3.0.0',
        contact: { name: 'Roster maintainers' },
        license: { name: 'MIT', identifier: 'MIT' },
        description:
          'User groups, members and roles of companies (tenants). Errors use the ErrorResponse body. Writes accept an Idempotency-Key header; group reads return an ETag that PATCH and DELETE accept as If-Match; every response carries RateLimit headers.',
      },
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The API key or a user token' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'User groups', description: "A company's user groups" },
        { name: 'User group members', description: 'Who belongs to a group' },
        { name: 'Roles and permissions', description: 'Roles of groups, and what users may do' },
        { name: 'Audit log', description: 'Who changed what, when, through which request' },
        { name: 'Companies', description: 'The companies (tenants) the caller may see' },
        { name: 'Users', description: "A user's credentials" },
        { name: 'API keys', description: 'Super-admin API keys and the JWT signing key' },
      ],
    },
    hideUntagged: true,
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Everything the page loads comes from @fastify/swagger-ui's own files: no CDN, no validator badge.
    theme: { title: 'Roster · REST reference' },
    uiConfig: { validatorUrl: null, deepLinking: true, displayRequestDuration: true },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
