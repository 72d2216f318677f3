import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { noteErrorCode } from '../../observability/metrics.ts';

/**
 * Answers that Fastify or Node would otherwise write in their own shape (no route, a wrong method, an undecodable
 * URL, an over-long path parameter, oversize headers, a malformed request line) get Roster's error body with a
 * stable machine code, like every other error.
 */
function body(code: string, status: number, message: string) {
  const response = { statusCode: status, errorCode: code, message };
  return { data: null, errors: [{ message, extensions: { code, response } }] };
}

const pathOf = (request: FastifyRequest) => request.url.split('?', 1)[0] ?? request.url;
/** The path as the caller wrote it (before the GraphQL aliases were rewritten), for messages. */
const requestedPath = (request: FastifyRequest) => (request.originalUrl.split('?', 1)[0] ?? request.originalUrl).slice(0, 200);

/**
 * The GraphQL endpoint (`/graphql`; its aliases are rewritten to it in app.ts) gets the GraphQL/ROQ envelope,
 * every other path the REST error body (ErrorResponse): an unknown path is no GraphQL request.
 */
function bodyFor(request: FastifyRequest, code: string, status: number, message: string) {
  noteErrorCode(request, code);
  if (pathOf(request) === '/graphql') return body(code, status, message);
  return { debugIdentifier: request.id, errorMessages: [{ errorCode: code, message, errorParameters: [] }] };
}

/** The methods an `Allow` header may list, in the order it lists them. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Per server: the methods with a catch-all route (CORS answers OPTIONS on every path), which make no path known. */
const catchAllMethods = new WeakMap<FastifyInstance, ReadonlySet<string>>();

/**
 * The methods that have a route for this URL, each with the number of path parameters its route took (a literal
 * segment takes none). The router's own matching (find-my-way's `find`, as `findRoute`), so parametric paths,
 * percent-encoding and the query string are handled exactly as when routing. Methods that only a catch-all route
 * answers are left out unless some other method makes the path known.
 */
export function routeMethodsOf(server: FastifyInstance, url: string): Map<string, number> {
  const match = (method: string, path: string) => {
    try {
      return server.findRoute({ method, url: path });
    } catch {
      return null;
    }
  };
  let catchAll = catchAllMethods.get(server);
  if (!catchAll) {
    // Routes are fixed once the server is ready: what matches a path nobody registered, matches every path.
    const nowhere = `/${randomUUID()}/${randomUUID()}`;
    catchAll = new Set(METHODS.filter((m) => match(m, nowhere) !== null));
    catchAllMethods.set(server, catchAll);
  }
  const methods = new Map<string, number>();
  for (const method of METHODS) {
    const route = match(method, url);
    if (route) methods.set(method, Object.keys(route.params).length);
  }
  if ([...methods.keys()].every((m) => catchAll.has(m))) methods.clear();
  return methods;
}

/** A 405 METHOD_NOT_ALLOWED for a path that has routes, none for this method: `Allow` lists them. */
export function methodNotAllowed(request: FastifyRequest, reply: FastifyReply, allowed: readonly string[]): FastifyReply {
  const message = `Method ${request.method} is not allowed on ${requestedPath(request)}; allowed: ${allowed.join(', ')}`;
  return reply.code(405).header('allow', allowed.join(', ')).send(bodyFor(request, 'METHOD_NOT_ALLOWED', 405, message));
}

/** No route for this method and path: 405 with `Allow` when the path has routes for other methods, else 404. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  const methods = routeMethodsOf(request.server, request.url);
  if (methods.size > 0 && !methods.has(request.method)) {
    void methodNotAllowed(request, reply, [...methods.keys()]);
    return;
  }
  void reply.code(404).send(bodyFor(request, 'NOT_FOUND', 404, `No route ${request.method} ${requestedPath(request)}`));
}

/** Fastify's `frameworkErrors`: a URL that cannot be decoded, a path parameter over the length limit. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = 400;
  const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'path: a path parameter is too long' : 'path: the URL is not valid (malformed percent-encoding)';
  void reply.code(status).send(bodyFor(request, 'BAD_USER_INPUT', status, message));
}

/**
 * Errors of the HTTP parser, before any request exists. The connection is closed afterwards, so the answer says
 * `Connection: close`: a client must not send its next request on it. Returns the code answered, if any.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): string | undefined {
  if (err.code === 'ECONNRESET' || socket.destroyed) return undefined;
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', 'The request took too long to arrive']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', 'The request line and headers exceed the size limit']
    : [400, 'BAD_USER_INPUT', 'Malformed HTTP request'];
  const payload = JSON.stringify(body(code, status, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
    );
  }
  socket.destroy();
  return code;
}
