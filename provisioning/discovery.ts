/**
 * Finding the peer device on the cable without anyone typing an address: both devices use the IPv6 link-local
 * address every interface has. The initiator listens on TCP at its link-local address (never a wildcard) and sends
 * beacons to ff02::1 (all nodes on this link); the responder listens for beacons on ff02::1 and connects back to
 * the beacon's source. Nothing leaves the link: link-local and link-scope multicast are not routed.
 */
import * as dgram from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { OnepadError } from '../device/errors.js';
import type { PairingConfig } from './config-section.js';

const BEACON_MS = 300;

/** The IPv6 link-local address of an interface, with its scope ("fe80::1%eth0"). */
export function linkLocalAddress(iface: string): string {
  const addr = networkInterfaces()[iface]?.find(
    (a) => a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:'),
  );
  if (!addr) {
    throw new OnepadError('PAIRING_NO_LINK', { interface: iface }, `${iface} has no IPv6 link-local address`);
  }
  return `${addr.address}%${iface}`;
}

interface Beacon {
  readonly t: 'onepad-pair';
  readonly v: 1;
  readonly port: number;
  readonly name: string;
}

function parseBeacon(msg: Buffer): Beacon | null {
  try {
    const b = JSON.parse(msg.toString('utf8')) as Partial<Beacon>;
    if (
      b.t === 'onepad-pair' &&
      b.v === 1 &&
      Number.isInteger(b.port) &&
      (b.port as number) > 0 &&
      (b.port as number) < 65536
    ) {
      return b as Beacon;
    }
  } catch {
    // not ours
  }
  return null;
}

function timeoutError(ms: number): OnepadError {
  return new OnepadError('PAIRING_TIMEOUT', { waitedMs: ms }, 'no peer device found on the cable');
}

/**
 * Initiator: listen on the link-local address, beacon until one peer connects, and return its socket.
 * @throws OnepadError PAIRING_NO_LINK, PAIRING_TIMEOUT
 */
export function awaitResponder(config: PairingConfig, name: string, signal?: AbortSignal): Promise<Socket> {
  const local = linkLocalAddress(config.interface);
  return new Promise<Socket>((resolve, reject) => {
    const server = createServer({ pauseOnConnect: false });
    const udp = dgram.createSocket({ type: 'udp6' });
    let beaconTimer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (err: Error | null, sock?: Socket) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearInterval(beaconTimer);
      signal?.removeEventListener('abort', onAbort);
      server.close();
      udp.close();
      if (err) reject(err);
      else resolve(sock as Socket);
    };
    const deadline = setTimeout(() => finish(timeoutError(config.discoveryTimeoutMs)), config.discoveryTimeoutMs);
    const onAbort = () => finish(new OnepadError('PAIRING_TIMEOUT', { reason: 'cancelled' }, 'pairing was cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    server.on('connection', (sock) => {
      // Only a link-local peer on our interface may pair; a second connection is refused.
      if (done || !sock.remoteAddress?.toLowerCase().startsWith('fe80:')) {
        sock.destroy();
        return;
      }
      finish(null, sock);
    });
    server.on('error', (e) =>
      finish(
        new OnepadError(
          'PAIRING_NO_LINK',
          { reason: (e as NodeJS.ErrnoException).code ?? 'listen' },
          'cannot listen on the link',
        ),
      ),
    );
    server.listen({ host: local, port: config.port, exclusive: true }, () => {
      const port = (server.address() as { port: number }).port;
      const beacon = Buffer.from(JSON.stringify({ t: 'onepad-pair', v: 1, port, name } satisfies Beacon));
      udp.bind({ address: local, port: 0 }, () => {
        udp.setMulticastInterface(`::%${config.interface}`);
        const send = () => udp.send(beacon, config.discoveryPort, `ff02::1%${config.interface}`, () => {});
        send();
        beaconTimer = setInterval(send, BEACON_MS);
      });
    });
    udp.on('error', (e) =>
      finish(
        new OnepadError(
          'PAIRING_NO_LINK',
          { reason: (e as NodeJS.ErrnoException).code ?? 'udp' },
          'cannot send on the link',
        ),
      ),
    );
  });
}

/**
 * Responder: wait for an initiator's beacon on the link and connect to it.
 * @throws OnepadError PAIRING_NO_LINK, PAIRING_TIMEOUT
 */
export function findInitiator(config: PairingConfig, signal?: AbortSignal): Promise<Socket> {
  linkLocalAddress(config.interface);
  return new Promise<Socket>((resolve, reject) => {
    const udp = dgram.createSocket({ type: 'udp6', reuseAddr: true });
    let done = false;
    const finish = (err: Error | null, sock?: Socket) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      udp.close();
      if (err) reject(err);
      else resolve(sock as Socket);
    };
    const deadline = setTimeout(() => finish(timeoutError(config.discoveryTimeoutMs)), config.discoveryTimeoutMs);
    const onAbort = () => finish(new OnepadError('PAIRING_TIMEOUT', { reason: 'cancelled' }, 'pairing was cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    let connecting = false;
    udp.on('message', (msg, rinfo) => {
      const b = parseBeacon(msg);
      if (!b || connecting || done || !rinfo.address.toLowerCase().startsWith('fe80:')) return;
      connecting = true;
      const host = rinfo.address.includes('%') ? rinfo.address : `${rinfo.address}%${config.interface}`;
      const sock = connect({ host, port: b.port });
      sock.once('connect', () => finish(null, sock));
      sock.once('error', () => {
        connecting = false;
      });
    });
    udp.on('error', (e) =>
      finish(
        new OnepadError(
          'PAIRING_NO_LINK',
          { reason: (e as NodeJS.ErrnoException).code ?? 'udp' },
          'cannot listen on the link',
        ),
      ),
    );
    udp.bind({ address: `ff02::1%${config.interface}`, port: config.discoveryPort });
  });
}
