import type { FastifyInstance, FastifyReply } from 'fastify';
/**
 * Turning anything thrown while answering a request into one registry error with a fixed body.
 */
import { ERRORS, type ErrorCode, isOnepadError, OnepadError } from '../device/errors.js';
import type { ErrorResponse } from './protocol.js';

/** The fixed answer to every unknown path or method. */
export const NOT_FOUND_BODY: ErrorResponse = Object.freeze({
  error: Object.freeze({ code: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message, details: Object.freeze({}) }),
});

interface FrameworkError {
  readonly code?: unknown;
  readonly statusCode?: unknown;
  readonly validation?: readonly { instancePath?: string; keyword?: string; params?: Record<string, unknown> }[];
}

const BY_FASTIFY_CODE: Readonly<Record<string, { code: ErrorCode; reason: string }>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', reason: 'content type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', reason: 'body too large' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'INVALID_ARGUMENT', reason: 'content length mismatch' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_ARGUMENT', reason: 'empty body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_ARGUMENT', reason: 'invalid JSON' },
  FST_ERR_BAD_URL: { code: 'NOT_FOUND', reason: 'bad url' },
};

function validationField(v: NonNullable<FrameworkError['validation']>[number]): string {
  const path = v.instancePath ?? '';
  const params = v.params ?? {};
  const extra = params.additionalProperty ?? params.missingProperty;
  const base = path.replace(/^\//, '').replaceAll('/', '.');
  if (typeof extra === 'string') return base ? `${base}.${extra}` : extra;
  return base || '(body)';
}

/**
 * Map a thrown value to a registry error. Only codes and non-secret facts survive: framework messages (which
 * may quote the body, e.g. a JSON syntax error) are never copied.
 *
 * @returns the error and whether it is unexpected (to be logged as a fault)
 */
export function toOnepadError(err: unknown): { error: OnepadError; unexpected: boolean } {
  if (isOnepadError(err)) return { error: err, unexpected: false };
  const fe = (typeof err === 'object' && err !== null ? err : {}) as FrameworkError;
  if (Array.isArray(fe.validation) && fe.validation.length > 0) {
    const v = fe.validation[0] as NonNullable<FrameworkError['validation']>[number];
    const field = validationField(v);
    const reason = v.keyword ?? 'invalid';
    return { error: new OnepadError('INVALID_ARGUMENT', { field, reason }, `${field}: ${reason}`), unexpected: false };
  }
  const mapped = typeof fe.code === 'string' ? BY_FASTIFY_CODE[fe.code] : undefined;
  if (mapped) return { error: new OnepadError(mapped.code, { reason: mapped.reason }), unexpected: false };
  if (err instanceof SyntaxError || (typeof fe.statusCode === 'number' && fe.statusCode === 400)) {
    // JSON.parse failures and proto-poisoning refusals; their messages may quote the body, so none is kept.
    return { error: new OnepadError('INVALID_ARGUMENT', { reason: 'invalid JSON' }), unexpected: false };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode === 413) {
    return { error: new OnepadError('BODY_TOO_LARGE', { reason: 'body too large' }), unexpected: false };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode === 415) {
    return { error: new OnepadError('UNSUPPORTED_MEDIA_TYPE', { reason: 'content type' }), unexpected: false };
  }
  return { error: new OnepadError('INTERNAL'), unexpected: true };
}

/** The body of an error answer. */
export function errorBody(e: OnepadError): ErrorResponse {
  return { error: e.toJSON() };
}

/** Name, code and stack frames of an unexpected error, without its message (which could hold anything). */
export function faultSummary(err: unknown): { name: string; code: string; frames: string } {
  const e = err as { name?: unknown; code?: unknown; stack?: unknown };
  // Only the "    at ..." frame lines: a multi-line message would otherwise spill into the stack text.
  const stack =
    typeof e?.stack === 'string'
      ? e.stack
          .split('\n')
          .filter((l) => /^\s+at /.test(l))
          .slice(0, 8)
          .join('\n')
      : '';
  return {
    name: typeof e?.name === 'string' ? e.name : typeof err,
    code: typeof e?.code === 'string' ? e.code : '',
    frames: stack,
  };
}

/** Answer with a registry error: its status, and the fixed JSON body of {@link errorBody}. */
export function sendError(reply: FastifyReply, e: OnepadError): FastifyReply {
  return reply.code(e.status).header('content-type', 'application/json; charset=utf-8').send(errorBody(e));
}

/** Answer 404 with the one fixed body every unknown path and method gets. */
export function sendNotFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).header('content-type', 'application/json; charset=utf-8').send(NOT_FOUND_BODY);
}

/**
 * The not-found and error handlers every onepad HTTP server uses: fixed bodies, registry codes and statuses,
 * never framework text; an unexpected fault is logged by kind and stack frames only, never with the request body.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((_request, reply) => sendNotFound(reply));
  app.setErrorHandler((err, request, reply) => {
    if (request.is404) return sendNotFound(reply);
    const { error, unexpected } = toOnepadError(err);
    if (unexpected) request.log.error({ fault: faultSummary(err) }, 'unexpected fault');
    else request.log.info({ code: error.code }, 'request refused');
    return sendError(reply, error);
  });
}
