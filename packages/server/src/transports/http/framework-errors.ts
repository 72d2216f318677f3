import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { noteErrorCode } from '../../observability/metrics.ts';

/**
 * Answers that Fastify or Node would otherwise write in their own shape (no route, an undecodable URL, an
 * over-long path parameter, oversize headers, a malformed request line) get Roster's error body with a stable
 * machine code, like every other error.
 */
function body(code: string, status: number, message: string) {
  const response = { statusCode: status, errorCode: code, message };
  return { data: null, errors: [{ message, extensions: { code, response } }] };
}

/** REST paths get the REST error body (ErrorResponse), everything else the GraphQL/ROQ envelope. */
function bodyFor(request: FastifyRequest, code: string, status: number, message: string) {
  noteErrorCode(request, code);
  if (request.url.startsWith('/v3/')) return { debugIdentifier: request.id, errorMessages: [{ errorCode: code, message, errorParameters: [] }] };
  return body(code, status, message);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0] ?? request.url;
  void reply.code(404).send(bodyFor(request, 'NOT_FOUND', 404, `No route ${request.method} ${path.slice(0, 200)}`));
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
