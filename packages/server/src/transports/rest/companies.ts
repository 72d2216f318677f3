import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContext, Tenant } from '../../domain/types.ts';
import type { Services } from '../../services/index.ts';
import { CompanyParams, CompanySchema, ListCompaniesRequest, ListCompaniesResponse, errorResponses } from './schemas.ts';

const TAGS = ['Companies'];
const iso = (d: Date) => ({ iso8601: d.toISOString() });

function toRestCompany(t: Tenant) {
  return { id: t.id, name: t.name, reference: t.reference, isDefault: t.isDefault, createdAt: iso(t.createdAt), updatedAt: iso(t.updatedAt) };
}

/** The companies a caller may see, so a REST-only client can find its `companyId`. */
export function registerCompanyRoutes(rest: FastifyInstance, services: Services, ctx: (request: FastifyRequest) => RequestContext): void {
  rest.post<{ Body: ListCompaniesRequest }>(
    '/v3/companies/list',
    { schema: { tags: TAGS, summary: 'List the companies the caller may see', operationId: 'listCompanies', description: "Every company for the super-admin key; a user token's own company. Optional searchText (case-insensitive substring of the name), sortParams (NAME or CREATED_AT, default NAME ASC) and pagination (default offset 0, limit 100).", body: ListCompaniesRequest, response: { 200: ListCompaniesResponse, ...errorResponses } } },
    async (request) => {
      const body = request.body;
      const page = await services.tenants.list(ctx(request), {
        search: body.searchText === undefined ? undefined : { key: 'name', value: body.searchText },
        order: { sort: body.sortParams?.sortBy === 'CREATED_AT' ? 'createdAt' : 'name', order: body.sortParams?.sortOrder ?? 'ASC' },
        limit: body.pagination?.limit,
        offset: body.pagination?.offset,
      });
      return { companies: page.data.map(toRestCompany), pagination: { totalNumResults: await page.count() } };
    },
  );

  rest.get<{ Params: { companyId: string } }>(
    '/v3/companies/:companyId',
    { schema: { tags: TAGS, summary: 'Read a company', operationId: 'getCompany', description: "The super-admin reads any company; a user token its own (another company's is not found).", params: CompanyParams, response: { 200: CompanySchema, ...errorResponses } } },
    async (request) => toRestCompany(await services.tenants.get(ctx(request), request.params.companyId)),
  );
}
