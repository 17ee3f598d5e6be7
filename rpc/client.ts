/**
 * The host's client for the device's link server: typed `package` and `unpackage` calls.
 *
 * A call may wait a long time: the device asks its user, and requests before it may be waiting for the user
 * too. The client's idle timeout is therefore long (ten minutes by default, longer than the device's own wait
 * with default settings), and the device's answer says when it gave up (CONFIRM_TIMEOUT) or the user said no
 * (DENIED). Errors are {@link OnepadError}s with the device's code; the client adds LINK_UNREACHABLE and
 * BAD_RESPONSE for what went wrong on its side of the cable.
 */
import { request as httpRequest } from 'node:http';
import { Ajv } from 'ajv';
import { ERRORS, type ErrorCode, OnepadError } from '../device/errors.js';
import { decodeBase64, encodeBase64 } from './codec.js';
import { linkSectionSchema } from './config-section.js';
import {
  type ErrorResponse,
  errorResponseSchema,
  type PackageRequest,
  type PackageResponse,
  packageResponseSchema,
  type UnpackageResponse,
  unpackageResponseSchema,
} from './protocol.js';

/** The device URL when neither `--url` nor ONEPAD_DEVICE_URL says otherwise: the default link address. */
export const DEFAULT_DEVICE_URL = `http://${linkSectionSchema.properties.address.default}:${linkSectionSchema.properties.port.default}`;

/** Default idle timeout of a call: longer than the device's longest wait with default settings (5 minutes). */
export const DEFAULT_CLIENT_TIMEOUT_MS = 600_000;

/** Largest answer the client reads. */
const MAX_RESPONSE_BYTES = 128 * 1024 * 1024;

export interface ClientOptions {
  /** The device's URL, e.g. http://10.254.0.1:4747 */
  readonly url: string;
  /** Give up when the device sends nothing for this long (ms). */
  readonly timeoutMs?: number;
  /** Local address to send from (a host with several addresses on the link). */
  readonly localAddress?: string;
  /**
   * The `Host` to name when the URL is not the device's own address and port (a port forward to the device, as
   * in the image's boot test): the device answers only requests naming its link address and port.
   */
  readonly hostHeader?: string;
}

/** What to package: text (sent as UTF-8) or bytes. */
export type MessageContent = { readonly text: string } | { readonly bytes: Uint8Array };

const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: false });
const validPackage = ajv.compile<PackageResponse>(packageResponseSchema);
const validUnpackage = ajv.compile<UnpackageResponse>(unpackageResponseSchema);
const validError = ajv.compile<ErrorResponse>(errorResponseSchema);

/** A client of one device. */
export class LinkClient {
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly localAddress: string | undefined;
  private readonly hostHeader: string | undefined;

  /** @throws OnepadError INVALID_ARGUMENT when `url` is not an http URL or the timeout is not positive */
  constructor(opts: ClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'url' }, 'not a URL');
    }
    if (url.protocol !== 'http:') throw new OnepadError('INVALID_ARGUMENT', { option: 'url' }, 'must be http://');
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'timeout' }, 'timeout must be a positive integer');
    }
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.localAddress = opts.localAddress;
    this.hostHeader = opts.hostHeader;
  }

  /**
   * Ask the device to encrypt a message for `contact`. Resolves once the user approved it on the device.
   *
   * @throws OnepadError with the device's code (DENIED, CONFIRM_TIMEOUT, UNKNOWN_CONTACT, PAD_EXHAUSTED, BUSY,
   *   ...), or LINK_UNREACHABLE / BAD_RESPONSE
   */
  async package(contact: string, content: MessageContent, signal?: AbortSignal): Promise<PackageResponse> {
    const body: PackageRequest =
      'text' in content ? { contact, text: content.text } : { contact, bytes: encodeBase64(content.bytes) };
    const answer = await this.post('/package', body, signal);
    if (!validPackage(answer)) throw new OnepadError('BAD_RESPONSE', { reason: 'shape' });
    return answer;
  }

  /**
   * Ask the device to authenticate and decrypt a package (base64 or bytes).
   *
   * @throws OnepadError with the device's code (MAC_INVALID, REPLAY, REFLECTION, MALFORMED, UNKNOWN_PAD, ...),
   *   or INVALID_ARGUMENT (not base64), LINK_UNREACHABLE, BAD_RESPONSE
   */
  async unpackage(pkg: string | Uint8Array, signal?: AbortSignal): Promise<UnpackageResponse> {
    const b64 = typeof pkg === 'string' ? encodeBase64(decodeBase64(pkg.trim(), 'package')) : encodeBase64(pkg);
    const answer = await this.post('/unpackage', { package: b64 }, signal);
    if (!validUnpackage(answer)) throw new OnepadError('BAD_RESPONSE', { reason: 'shape' });
    return answer;
  }

  /** POST JSON; resolve with the parsed 200 answer, or throw the device's error. */
  private post(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          protocol: 'http:',
          hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port || 80,
          path,
          method: 'POST',
          localAddress: this.localAddress,
          agent: false,
          timeout: this.timeoutMs,
          signal,
          headers: {
            'content-type': 'application/json',
            'content-length': payload.length,
            accept: 'application/json',
            connection: 'close',
            ...(this.hostHeader ? { host: this.hostHeader } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new OnepadError('BAD_RESPONSE', { reason: 'too large' }));
              return;
            }
            chunks.push(c);
          });
          res.on('error', () => reject(new OnepadError('LINK_UNREACHABLE', { reason: 'connection broke' })));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(new OnepadError('BAD_RESPONSE', { reason: 'not JSON', status: res.statusCode ?? 0 }));
              return;
            }
            if (res.statusCode === 200) {
              resolve(parsed);
              return;
            }
            reject(deviceError(parsed, res.statusCode ?? 0));
          });
        },
      );
      req.on('timeout', () => req.destroy(new OnepadError('LINK_UNREACHABLE', { reason: 'timeout' })));
      req.on('error', (e) => {
        if (e instanceof OnepadError) reject(e);
        else if (signal?.aborted) reject(new OnepadError('LINK_UNREACHABLE', { reason: 'aborted' }));
        else reject(new OnepadError('LINK_UNREACHABLE', { reason: (e as { code?: string }).code ?? 'error' }));
      });
      req.end(payload);
    });
  }
}

/** The device's error answer as an OnepadError with its code, status and details. */
function deviceError(parsed: unknown, status: number): OnepadError {
  if (!validError(parsed)) return new OnepadError('BAD_RESPONSE', { reason: 'shape', status });
  const code = parsed.error.code;
  if (!Object.hasOwn(ERRORS, code) || ERRORS[code as ErrorCode].status !== status) {
    return new OnepadError('BAD_RESPONSE', { reason: 'unknown code', status });
  }
  return new OnepadError(code as ErrorCode, parsed.error.details);
}
