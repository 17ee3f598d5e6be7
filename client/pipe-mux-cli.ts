/**
 * `onepad pipe` on a multiplexed channel (client/pipe-channel.ts): `--mux` over a direct connection, `--relay`
 * through the pipe relay (client/pipe-relay.ts), `--tap NAME` for Ethernet frames (client/pipe-tap.ts).
 *
 *   -e --mux -s PLAIN -t WIRE      every connection accepted on PLAIN is a stream of one channel dialed to WIRE
 *   -d --mux -s WIRE -t PLAIN      takes channels on WIRE (one at a time); each stream dials PLAIN
 *   -e|-d --relay R --channel C    the same with the wire joined at relay R under channel name C (-s or -t is PLAIN)
 *   --tap NAME (-t WIRE | -s WIRE | --relay R --channel C)   a TAP interface's frames over the channel
 *
 * Each stream's end is logged on stderr with its id and, when it failed, its code. The command ends when the
 * channel does with an error of this side's device or session (its code), or for -e and --tap with any channel
 * error; a -d end takes the next channel after the other side went away.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { isOnepadError, OnepadError } from '../device/errors.js';
import { describeError, PipeChannel } from './pipe-channel.js';
import type { SocketAddress } from './pipe-cli.js';
import type { SessionLink } from './pipe-link.js';
import { joinRelay } from './pipe-relay.js';
import { openTap, type TapPort } from './pipe-tap.js';

/** What the channel modes are given. */
export interface ChannelModeOptions {
  readonly link: SessionLink;
  readonly mode: 'encrypt' | 'decrypt' | 'tap';
  /** Plaintext side: where -e listens, where -d dials (absent for --tap). */
  readonly plain: SocketAddress | null;
  /** The wire: dial an address, listen on one, or join the relay. */
  readonly wire:
    | { readonly dial: SocketAddress }
    | { readonly listen: SocketAddress }
    | { readonly relay: { host: string; port: number }; readonly channel: string };
  readonly tapName: string | null;
  readonly maxData: number;
  readonly keepaliveMs: number;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  readonly onListening?: (address: string | { address: string; port: number }) => void;
}

/** Errors of this side's device or session: the command cannot go on without a new session. */
const OWN_SIDE = new Set(['LINK_UNREACHABLE', 'SESSION_ENDED', 'SESSION_UNKNOWN', 'BAD_RESPONSE', 'PAD_EXHAUSTED']);

function dialPlain(a: SocketAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s =
      'path' in a
        ? connect({ path: a.path, allowHalfOpen: true })
        : connect({ host: a.host, port: a.port, allowHalfOpen: true });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', () => {
      s.destroy();
      reject(new OnepadError('PIPE_BROKEN', { reason: 'cannot connect to the target' }));
    });
  });
}

async function listenOn(server: Server, a: SocketAddress): Promise<{ address: string; port: number } | string> {
  if ('path' in a) server.listen(a.path);
  else server.listen(a.port, a.host);
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null) throw new OnepadError('INTERNAL');
  return typeof addr === 'string' ? addr : { address: addr.address, port: addr.port };
}

function show(addr: { address: string; port: number } | string): string {
  return typeof addr === 'string' ? addr : `${addr.address}:${addr.port}`;
}

/** Run until the signal aborts (resolves) or a fatal channel error (rejects with it). */
export async function runChannelMode(o: ChannelModeOptions): Promise<void> {
  const servers: Server[] = [];
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  let current: PipeChannel | null = null;
  let tap: TapPort | null = null;
  try {
    tap = o.mode === 'tap' && o.tapName ? await openTap(o.tapName) : null;
    if (tap) {
      const t = tap;
      o.log(`tap ${t.name} up`);
      void t.ended.then(() => {
        if (!stop.signal.aborted) o.log(`tap ${t.name} gone`);
        stop.abort();
      });
      t.onFrame((f) => {
        current?.sendEther(f);
      });
    }
    const tapPort = tap;
    let plainServer: Server | null = null;
    if (o.mode === 'encrypt' && o.plain) {
      plainServer = createServer({ noDelay: true, allowHalfOpen: true }, (sock) => {
        sock.on('error', () => undefined);
        if (!current || current.error) {
          sock.destroy();
          return;
        }
        current.openStream(sock, sock).catch(() => undefined);
      });
      servers.push(plainServer);
    }

    // One channel at a time. Its wire: dialed, accepted, or joined at the relay.
    let wireServer: Server | null = null;
    const accepted: Socket[] = [];
    let wakeAccept: (() => void) | null = null;
    if ('listen' in o.wire) {
      wireServer = createServer({ noDelay: true }, (sock) => {
        sock.on('error', () => undefined);
        if (current && !current.error) {
          // One channel at a time: a second wire while one runs is closed unread.
          sock.destroy();
          return;
        }
        accepted.push(sock);
        wakeAccept?.();
      });
      servers.push(wireServer);
      const a = await listenOn(wireServer, o.wire.listen);
      o.log(`listening for channels on ${show(a)}`);
      o.onListening?.(a);
    }
    const nextWire = async (): Promise<Socket | null> => {
      if ('dial' in o.wire) {
        const s = await dialPlain(o.wire.dial).catch(() => {
          throw new OnepadError('PIPE_BROKEN', { reason: 'cannot connect to the other end' });
        });
        return s;
      }
      if ('relay' in o.wire) return joinRelay(o.wire.relay, o.wire.channel, stop.signal);
      while (accepted.length === 0) {
        if (stop.signal.aborted) return null;
        await new Promise<void>((r) => {
          wakeAccept = r;
          stop.signal.addEventListener('abort', () => r(), { once: true });
        });
        wakeAccept = null;
      }
      return accepted.shift() ?? null;
    };

    const loop = async () => {
      let first = true;
      while (!stop.signal.aborted) {
        const wire = await nextWire();
        if (!wire) return;
        const ch = new PipeChannel({
          link: o.link,
          wire,
          maxData: o.maxData,
          keepaliveMs: o.keepaliveMs,
          log: o.log,
          ...(tapPort
            ? {
                onEther: (f: Uint8Array) => {
                  tapPort.write(f);
                },
              }
            : {}),
          ...(o.mode === 'decrypt' && o.plain
            ? {
                onStream: (s) => {
                  const target = o.plain as SocketAddress;
                  dialPlain(target).then(
                    (sock) => s.accept(sock, sock).catch(() => undefined),
                    () => s.refuse('target-refused'),
                  );
                },
              }
            : {}),
        });
        wire.resume();
        current = ch;
        o.log('channel open');
        if (first && plainServer && o.plain) {
          first = false;
          const a = await listenOn(plainServer, o.plain);
          o.log(`listening on ${show(a)}`);
          o.onListening?.(a);
        }
        const onStop = () => ch.close();
        stop.signal.addEventListener('abort', onStop, { once: true });
        const err = await ch.closed;
        stop.signal.removeEventListener('abort', onStop);
        if (!err) return;
        o.log(`channel ended: ${describeError(err)} (${JSON.stringify(ch.stats)})`);
        // -e and --tap end with the channel; -d waits for the next one unless its own side failed.
        if (OWN_SIDE.has(err.code) || o.mode !== 'decrypt') throw err;
      }
    };
    await loop();
  } catch (e) {
    throw isOnepadError(e) ? e : new OnepadError('PIPE_BROKEN', { reason: 'channel failed' });
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    (current as PipeChannel | null)?.close();
    for (const s of servers) s.close();
    await tap?.close();
  }
}
