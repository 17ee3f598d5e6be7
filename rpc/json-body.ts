/**
 * The JSON body parser every onepad HTTP server uses: the body is read as bytes and decoded as strict UTF-8, so a
 * byte sequence that is not UTF-8 (stray continuation bytes, overlong forms, encoded surrogates as in CESU-8,
 * code points above U+10FFFF, a truncated sequence) is refused with INVALID_ARGUMENT instead of being replaced by
 * U+FFFD and encrypted. What is left is fastify's own JSON parser with its prototype-poisoning checks.
 */
import type { FastifyInstance } from 'fastify';
import { OnepadError } from '../device/errors.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decode a request body as UTF-8, refusing anything that is not.
 *
 * @throws OnepadError INVALID_ARGUMENT (reason `not UTF-8`)
 */
export function decodeBodyUtf8(body: Uint8Array): string {
  try {
    return strictUtf8.decode(body);
  } catch {
    throw new OnepadError('INVALID_ARGUMENT', { field: '(body)', reason: 'not UTF-8' }, 'the body is not UTF-8');
  }
}

/** Replace fastify's `application/json` parser (which decodes leniently) with the strict one. */
export function installStrictJson(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    let text: string;
    try {
      text = decodeBodyUtf8(bytes);
    } catch (e) {
      done(e as Error, undefined);
      return;
    } finally {
      // The body may hold a plaintext; the parsed copy is all that is needed from here on.
      bytes.fill(0);
    }
    parseJson(request, text, done);
  });
}
