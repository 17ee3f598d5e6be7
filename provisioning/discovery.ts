/**
 * Finding the peer device on the cable without anyone typing an address: both devices use the IPv6 link-local
 * address every interface has. The initiator listens on TCP at its link-local address (never a wildcard) and sends
 * beacons to ff02::1 (all nodes on this link); the responder listens for beacons on ff02::1 and connects back to
 * the beacon's source. Nothing leaves the link: link-local and link-scope multicast are not routed.
 */
import * as dgram from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isOnepadError, OnepadError } from '../device/errors.js';
import { sleepUnlessAborted } from '../device/sleep.js';
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

type Settle<T> = (err: Error | null, value?: T) => void;

/**
 * One discovery attempt: settles once (success, error, the deadline, or `signal` aborting), and runs the cleanup
 * `start` returned before it settles.
 */
function attempt<T>(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (settle: Settle<T>, settled: () => boolean) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let cleanup = () => {};
    const settle: Settle<T> = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      cleanup();
      if (err) reject(err);
      else resolve(value as T);
    };
    const deadline = setTimeout(
      () => settle(new OnepadError('PAIRING_TIMEOUT', { waitedMs: timeoutMs }, 'no peer device found on the cable')),
      timeoutMs,
    );
    const onAbort = () => settle(new OnepadError('CANCELLED', { job: 'pairing' }));
    signal?.addEventListener('abort', onAbort, { once: true });
    cleanup = start(settle, () => done);
    if (signal?.aborted) onAbort();
  });
}

function linkError(e: unknown, fallback: string, message: string): OnepadError {
  return new OnepadError('PAIRING_NO_LINK', { reason: (e as NodeJS.ErrnoException).code ?? fallback }, message);
}

/** One try of {@link awaitResponder} within `timeoutMs`. */
async function awaitResponderOnce(
  config: PairingConfig,
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Socket> {
  const local = linkLocalAddress(config.interface);
  return attempt<Socket>(timeoutMs, signal, (settle, settled) => {
    const server = createServer({ pauseOnConnect: false });
    const udp = dgram.createSocket({ type: 'udp6' });
    let beaconTimer: NodeJS.Timeout | undefined;
    server.on('connection', (sock) => {
      // Only a link-local peer on our interface may pair; a second connection is refused.
      if (settled() || !sock.remoteAddress?.toLowerCase().startsWith('fe80:')) {
        sock.destroy();
        return;
      }
      settle(null, sock);
    });
    server.on('error', (e) => settle(linkError(e, 'listen', 'cannot listen on the link')));
    server.listen({ host: local, port: config.port, exclusive: true }, () => {
      const port = (server.address() as { port: number }).port;
      const beacon = Buffer.from(JSON.stringify({ t: 'onepad-pair', v: 1, port, name } satisfies Beacon));
      // From the discovery port itself, not an ephemeral one: the device's sandbox lets it bind that port only
      // (SocketBindAllow=ipv6:udp:47001 in onepad.service denies a bind to port 0).
      udp.bind({ address: local, port: config.discoveryPort }, () => {
        udp.setMulticastInterface(`::%${config.interface}`);
        const send = () => udp.send(beacon, config.discoveryPort, `ff02::1%${config.interface}`, () => {});
        send();
        beaconTimer = setInterval(send, BEACON_MS);
      });
    });
    udp.on('error', (e) => settle(linkError(e, 'udp', 'cannot send on the link')));
    return () => {
      clearInterval(beaconTimer);
      server.close();
      udp.close();
    };
  });
}

/** One try of {@link findInitiator} within `timeoutMs`. */
async function findInitiatorOnce(config: PairingConfig, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  linkLocalAddress(config.interface);
  return attempt<Socket>(timeoutMs, signal, (settle, settled) => {
    const udp = dgram.createSocket({ type: 'udp6', reuseAddr: true });
    let connecting = false;
    udp.on('message', (msg, rinfo) => {
      const b = parseBeacon(msg);
      if (!b || connecting || settled() || !rinfo.address.toLowerCase().startsWith('fe80:')) return;
      connecting = true;
      const host = rinfo.address.includes('%') ? rinfo.address : `${rinfo.address}%${config.interface}`;
      const sock = connect({ host, port: b.port });
      sock.once('connect', () => settle(null, sock));
      sock.once('error', () => {
        connecting = false;
      });
    });
    udp.on('error', (e) => settle(linkError(e, 'udp', 'cannot listen on the link')));
    udp.bind({ address: `ff02::1%${config.interface}`, port: config.discoveryPort });
    return () => udp.close();
  });
}

const LINK_RETRY_MS = 200;

/**
 * Keep trying `once` until the discovery deadline while the link is not usable yet (no link-local address, or one
 * still being checked for duplicates): a cable plugged in a moment after the user pressed Start or Join is fine.
 */
async function untilLinkUp<T>(
  config: PairingConfig,
  signal: AbortSignal | undefined,
  once: (timeoutMs: number) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + config.discoveryTimeoutMs;
  const never = new AbortController().signal;
  for (;;) {
    try {
      return await once(Math.max(1, deadline - Date.now()));
    } catch (e) {
      const retry = isOnepadError(e, 'PAIRING_NO_LINK') && Date.now() + LINK_RETRY_MS < deadline && !signal?.aborted;
      if (!retry) throw e;
      await sleepUnlessAborted(LINK_RETRY_MS, signal ?? never);
    }
  }
}

/**
 * Initiator: listen on the link-local address, beacon until one peer connects, and return its socket.
 * @throws OnepadError PAIRING_NO_LINK (no usable link until the deadline), PAIRING_TIMEOUT, CANCELLED
 */
export function awaitResponder(config: PairingConfig, name: string, signal?: AbortSignal): Promise<Socket> {
  return untilLinkUp(config, signal, (ms) => awaitResponderOnce(config, name, ms, signal));
}

/**
 * Responder: wait for an initiator's beacon on the link and connect to it.
 * @throws OnepadError PAIRING_NO_LINK (no usable link until the deadline), PAIRING_TIMEOUT, CANCELLED
 */
export function findInitiator(config: PairingConfig, signal?: AbortSignal): Promise<Socket> {
  return untilLinkUp(config, signal, (ms) => findInitiatorOnce(config, ms, signal));
}
