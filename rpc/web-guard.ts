/**
 * The link answers the laptop's own software, never a web page. A page that rebinds its DNS name to the link
 * address reaches the device from the peer's own address, so the source address proves nothing; what a browser
 * cannot hide is the name it asked for (`Host`) and where the request comes from (`Origin`, `Sec-Fetch-Site`).
 *
 * - `Host` must name the link address as an IP literal (IPv6 in brackets) and the port the request arrived on:
 *   a rebound page always sends its own DNS name. Exactly one `Host` line (RFC 9112 3.2; Node keeps only the
 *   first of several, and whatever is in front of the device might act on another).
 * - Any `Origin` header (a browser sends one with every POST, same-origin included) is refused, and so is any
 *   `Sec-Fetch-Site` other than `none` (a browser's fetch metadata for requests a page made).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { OnepadError } from '../device/errors.js';
import { sameAddress } from './link-address.js';

/** The address and port a request must name in its Host header. */
export interface ExpectedHost {
  readonly address: string;
  readonly port: number;
}

const BRACKETED = /^\[([0-9A-Fa-f:.]+)\](?::([1-9][0-9]{0,4}))?$/;
const IPV4 = /^([0-9.]+)(?::([1-9][0-9]{0,4}))?$/;

/** The address without an IPv4-mapped IPv6 prefix. */
export function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? (m[1] as string) : address;
}

/**
 * Why a Host header does not name `expected`, or null when it does. An omitted port means 80 (RFC 9110 4.2.1).
 */
export function hostRefusal(host: string | undefined, expected: ExpectedHost): string | null {
  if (host === undefined || host === '') return 'missing';
  const m = BRACKETED.exec(host) ?? IPV4.exec(host);
  if (!m) return 'not an IP literal';
  const address = m[1] as string;
  const bracketed = host.startsWith('[');
  const family = isIP(address);
  if (family === 0 || (family === 6) !== bracketed) return 'not an IP literal';
  if (!sameAddress(address, plainAddress(expected.address))) return 'not the link address';
  const port = m[2] === undefined ? 80 : Number(m[2]);
  if (port !== expected.port) return 'not the link port';
  return null;
}

/**
 * Refuse a request a browser made, or one that names another host.
 *
 * @param target - the request target as received (`request.raw.url`)
 * @param rawHeaders - the header lines as received (`request.raw.rawHeaders`: name, value, name, value, ...)
 * @returns HOST_REFUSED (details.reason) or ORIGIN_REFUSED (details.header), or null for a request to answer
 */
export function webRefusal(
  target: string | undefined,
  headers: IncomingHttpHeaders,
  expected: ExpectedHost,
  rawHeaders: readonly string[] = [],
): OnepadError | null {
  // An absolute-form target (`POST http://name/...`) overrides Host (RFC 9112 3.2.2); only a proxy is sent one.
  if (target === undefined || !target.startsWith('/'))
    return new OnepadError('HOST_REFUSED', { reason: 'not origin-form' });
  let hosts = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === 'host') hosts++;
  if (hosts > 1) return new OnepadError('HOST_REFUSED', { reason: 'more than one Host' });
  const reason = hostRefusal(headers.host, expected);
  if (reason !== null) return new OnepadError('HOST_REFUSED', { reason });
  if (headers.origin !== undefined) return new OnepadError('ORIGIN_REFUSED', { header: 'origin' });
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'none') return new OnepadError('ORIGIN_REFUSED', { header: 'sec-fetch-site' });
  return null;
}
