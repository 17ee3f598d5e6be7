/**
 * Who a request comes from, for the relay's per-source limits: the source address of its connection, an IPv6
 * one cut to its /64 (a single host can take any address of its prefix), and the tag the store keeps of it (a
 * keyed hash with a key made at start and held only in memory). The per-source connection count lives here too.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';

/** ipaddr.js is CommonJS without named ESM exports: loaded through require. */
const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof import('ipaddr.js');

/** The key a source is counted under: an IPv4 address, or an IPv6 /64 prefix. */
export function sourceKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (m) return m[1] as string;
  if (isIP(remoteAddress) !== 6) return remoteAddress;
  const parts = ipaddr.IPv6.parse(remoteAddress.split('%')[0] as string).parts;
  return `${parts
    .slice(0, 4)
    .map((p: number) => p.toString(16))
    .join(':')}::/64`;
}

/** Tags of source keys for the store: HMAC-SHA256 under a key that never leaves memory, cut to 16 bytes. */
export class SourceTagger {
  private readonly key = randomBytes(32);

  tag(source: string): Uint8Array {
    return new Uint8Array(createHmac('sha256', this.key).update(source).digest().subarray(0, 16));
  }
}

/**
 * Close every connection beyond `max` from one source at once (before a byte of it is parsed), so one source
 * holding connections open (slowloris) cannot take the server's connection slots from others.
 *
 * @returns the live count per source, and the most any one source held at once since the start
 */
export function limitConnectionsPerSource(server: Server, max: number): SourceConnections {
  const open = new Map<string, number>();
  let peak = 0;
  server.on('connection', (socket: Socket) => {
    const key = sourceKey(socket.remoteAddress);
    const n = (open.get(key) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      return;
    }
    open.set(key, n);
    peak = Math.max(peak, n);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left <= 0) open.delete(key);
      else open.set(key, left);
    });
  });
  return { open, peak: () => peak };
}

/** Connections per source, as {@link limitConnectionsPerSource} counts them. */
export interface SourceConnections {
  readonly open: ReadonlyMap<string, number>;
  /** The most connections one source held at once. */
  peak(): number;
}
