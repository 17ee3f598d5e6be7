/**
 * What Node's HTTP server would answer by itself, answered instead with registry codes and fixed JSON bodies: a
 * message that does not parse, one that is too slow, headers that are too large, an `Expect` other than
 * `100-continue`. Shared by the link server and the relay.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ErrorCode, OnepadError } from '../device/errors.js';
import { errorBody } from './errors.js';

/** A complete HTTP/1.1 answer with a registry error body, closing the connection. */
export function rawErrorResponse(code: ErrorCode, details: Record<string, string | number> = {}): string {
  const e = new OnepadError(code, details);
  const body = JSON.stringify(errorBody(e));
  return (
    `HTTP/1.1 ${e.status} ${e.status === 408 ? 'Request Timeout' : 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

const MALFORMED = rawErrorResponse('INVALID_ARGUMENT', { reason: 'malformed HTTP' });
const TIMED_OUT = rawErrorResponse('REQUEST_TIMEOUT');
const HEADERS_TOO_LARGE = rawErrorResponse('HEADERS_TOO_LARGE');

/** How long a refused socket may take to take its answer before it is destroyed. */
const LINGER_MS = 2000;

/**
 * A `clientErrorHandler` for fastify: the first error on a socket gets one fixed answer, then the socket is ended
 * and destroyed at the latest {@link LINGER_MS} later (a peer that does not read cannot keep it). Later errors on
 * the same socket (Node reports a request timeout again at every check while the socket lives) destroy it at once
 * and add no listener.
 */
export function clientErrorHandler(): (err: Error & { code?: string }, socket: Duplex) => void {
  const handled = new WeakSet<Duplex>();
  return (err, socket) => {
    if (handled.has(socket) || !socket.writable) {
      socket.destroy();
      return;
    }
    handled.add(socket);
    const answer =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? TIMED_OUT
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? HEADERS_TOO_LARGE
          : MALFORMED;
    socket.end(answer);
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

/**
 * Answer an `Expect` other than `100-continue` with EXPECTATION_FAILED (Node's own answer is a bodyless 417).
 * `100-continue` itself is served as usual.
 */
export function answerExpectations(server: Server): void {
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(errorBody(new OnepadError('EXPECTATION_FAILED', { header: 'expect' })));
    res.shouldKeepAlive = false;
    res.writeHead(417, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
  });
}
