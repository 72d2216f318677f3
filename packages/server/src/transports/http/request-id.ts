import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestContext } from '../../domain/types.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The caller's own `x-request-id`, when well-formed; undefined otherwise. Kept beside `request.id`, which is
     * always the server's: a caller cannot choose the id its request is logged and audited under.
     */
    readonly clientRequestId: string | undefined;
  }
}

// Letters, digits and `._:-`, up to 128: safe in a header, a log line and the audit log. Anything else is dropped.
const CLIENT_REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The response header echoing the caller's `x-request-id` (when kept); `x-request-id` answers the server's. */
export const CLIENT_REQUEST_ID_HEADER = 'x-client-request-id';

/** The server's id for a request: always its own, whatever the caller sent (Fastify's `genReqId`). */
export function newRequestId(): string {
  return randomUUID();
}

/** The caller's `x-request-id`, if it sent exactly one well-formed value. */
export function clientRequestIdOf(headers: IncomingHttpHeaders): string | undefined {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && CLIENT_REQUEST_ID_RE.test(incoming) ? incoming : undefined;
}

/** `request.clientRequestId`, read from the headers when asked. */
export function registerRequestIds(app: FastifyInstance): void {
  app.decorateRequest('clientRequestId', {
    getter(this: FastifyRequest) {
      return clientRequestIdOf(this.headers);
    },
  });
}

/** Who is calling and which request this is, for the services: the server's id, and the caller's beside it. */
export function requestContext(request: FastifyRequest): RequestContext {
  return { actor: request.actor!, requestId: request.id, clientRequestId: request.clientRequestId ?? null };
}
