/**
 * Who a request comes from, for the relay's per-source limits: the source address of its connection, an IPv6
 * one cut to its /64 (a single host can take any address of its prefix) and also counted by its site, the /48
 * around it (what one customer is given: 65,536 /64s, so an abuser rotating through them is still one site), and
 * the tags the store keeps of them (keyed hashes with a key made at start and held only in memory). The
 * per-source connection count lives here too.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';

/** ipaddr.js is CommonJS without named ESM exports: loaded through require. */
const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof import('ipaddr.js');

/**
 * The keys a source is counted under: the source itself (an IPv4 address, or an IPv6 /64 prefix) and, for IPv6,
 * its site (the /48 prefix). IPv4 has no site: neighbouring IPv4 addresses are as often different customers.
 */
export function sourceKeys(remoteAddress: string | undefined): { readonly source: string; readonly site?: string } {
  if (remoteAddress === undefined) return { source: 'unknown' };
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (m) return { source: m[1] as string };
  if (isIP(remoteAddress) !== 6) return { source: remoteAddress };
  const parts = ipaddr.IPv6.parse(remoteAddress.split('%')[0] as string).parts;
  const prefix = (n: number) =>
    parts
      .slice(0, n)
      .map((p: number) => p.toString(16))
      .join(':');
  return { source: `${prefix(4)}::/64`, site: `${prefix(3)}::/48` };
}

/** The key a source is counted under: an IPv4 address, or an IPv6 /64 prefix. */
export function sourceKey(remoteAddress: string | undefined): string {
  return sourceKeys(remoteAddress).source;
}

/** Tags of source keys for the store: HMAC-SHA256 under a key that never leaves memory, cut to 16 bytes. */
export class SourceTagger {
  private readonly key = randomBytes(32);

  tag(source: string): Uint8Array {
    return new Uint8Array(createHmac('sha256', this.key).update(source).digest().subarray(0, 16));
  }
}

/**
 * Close every connection beyond `max` from one source, or beyond `siteMax` from one IPv6 site, at once (before
 * a byte of it is parsed), so one source holding connections open (slowloris) cannot take the server's
 * connection slots from others, whichever of its site's addresses it uses.
 *
 * @returns the live count per source and per site, and the most any one source or site held at once
 */
export function limitConnectionsPerSource(
  server: Pick<Server, 'on'>,
  max: number,
  siteMax = Number.POSITIVE_INFINITY,
): SourceConnections {
  const open = new Map<string, number>();
  const sites = new Map<string, number>();
  let peak = 0;
  let sitePeak = 0;
  const release = (map: Map<string, number>, key: string) => {
    const left = (map.get(key) ?? 1) - 1;
    if (left <= 0) map.delete(key);
    else map.set(key, left);
  };
  server.on('connection', (socket: Socket) => {
    const { source, site } = sourceKeys(socket.remoteAddress);
    const n = (open.get(source) ?? 0) + 1;
    const s = site === undefined ? 0 : (sites.get(site) ?? 0) + 1;
    if (n > max || s > siteMax) {
      socket.destroy();
      return;
    }
    open.set(source, n);
    peak = Math.max(peak, n);
    if (site !== undefined) {
      sites.set(site, s);
      sitePeak = Math.max(sitePeak, s);
    }
    socket.once('close', () => {
      release(open, source);
      if (site !== undefined) release(sites, site);
    });
  });
  return { open, sites, peak: () => peak, sitePeak: () => sitePeak };
}

/** Connections per source, as {@link limitConnectionsPerSource} counts them. */
export interface SourceConnections {
  readonly open: ReadonlyMap<string, number>;
  /** Per IPv6 site (/48). */
  readonly sites: ReadonlyMap<string, number>;
  /** The most connections one source held at once. */
  peak(): number;
  /** The most connections one IPv6 site held at once. */
  sitePeak(): number;
}
