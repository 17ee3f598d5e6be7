/**
 * The pipe relay: a rendezvous for multiplexed pipe channels (client/pipe-channel.ts) between laptops that cannot
 * reach each other directly, trusted with nothing. Each laptop connects and says which channel it wants (a
 * 32-byte id: SHA-256 of the channel name both users gave, so the relay never sees the name); when two
 * connections named the same channel are there, the relay answers both "paired" and splices them, byte for byte,
 * until either closes. Everything it carries is packaged by the devices: it can read, change, drop or replay
 * nothing undetected, only cut the channel (docs/PIPE.md, "Through the relay").
 *
 * A separate server from the store-and-forward relay of the chat (client/relay-server.ts), because a channel is a
 * long-lived byte stream, not messages kept on disk. `onepad pipe-relay --address IP --port N`.
 *
 * Wire: the client sends `OPR1` and the 32-byte id; the relay answers one byte: 1 paired (the splice starts),
 * 2 nobody came within `waitMs`, 3 busy (the channel has its two ends already, or the relay is full), 4 bad hello.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { OnepadError } from '../device/errors.js';

export const RELAY_MAGIC = Buffer.from('OPR1', 'latin1');
export const RELAY_ANSWER = { paired: 1, timeout: 2, busy: 3, bad: 4 } as const;
const REASON: Record<number, string> = { 2: 'nobody came', 3: 'busy', 4: 'bad hello' };

/** The relay's limits. */
export interface PipeRelayOptions {
  readonly address: string;
  readonly port: number;
  /** Time for a client to send its hello (default 5 s). */
  readonly helloMs?: number;
  /** How long one end waits for the other (default 120 s). */
  readonly waitMs?: number;
  /** Ends waiting at once (default 256). */
  readonly maxWaiting?: number;
  /** Channels spliced at once (default 512). */
  readonly maxChannels?: number;
}

/** A running pipe relay. */
export interface PipeRelay {
  readonly server: Server;
  readonly address: string;
  readonly port: number;
  /** Channels spliced so far, and now. */
  readonly counts: { paired: number; active: number; refused: number };
  close(): Promise<void>;
}

/** The 32-byte channel id of a channel name. */
export function channelId(name: string): Buffer {
  return createHash('sha256').update('onepad pipe channel\0').update(name, 'utf8').digest();
}

/**
 * Start the relay on `address:port` (an IP address, nothing else).
 * @throws OnepadError CONFIG_INVALID when the address is not an IP address
 */
export async function startPipeRelay(o: PipeRelayOptions): Promise<PipeRelay> {
  if (isIP(o.address) === 0) throw new OnepadError('CONFIG_INVALID', { field: 'address', reason: 'not an IP' });
  const helloMs = o.helloMs ?? 5000;
  const waitMs = o.waitMs ?? 120_000;
  const maxWaiting = o.maxWaiting ?? 256;
  const maxChannels = o.maxChannels ?? 512;
  const waiting = new Map<string, { sock: Socket; timer: ReturnType<typeof setTimeout> }>();
  const counts = { paired: 0, active: 0, refused: 0 };
  const all = new Set<Socket>();

  const refuse = (sock: Socket, answer: number) => {
    counts.refused++;
    sock.end(Buffer.from([answer]));
    setTimeout(() => sock.destroy(), 1000).unref();
  };

  const server = createServer({ allowHalfOpen: false, noDelay: true, pauseOnConnect: false }, (sock) => {
    sock.on('error', () => sock.destroy());
    all.add(sock);
    sock.once('close', () => all.delete(sock));
    let buf = Buffer.alloc(0);
    const helloTimer = setTimeout(() => refuse(sock, RELAY_ANSWER.bad), helloMs);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length < 36) return;
      clearTimeout(helloTimer);
      sock.off('data', onData);
      sock.pause();
      if (!buf.subarray(0, 4).equals(RELAY_MAGIC)) {
        refuse(sock, RELAY_ANSWER.bad);
        return;
      }
      const id = buf.subarray(4, 36).toString('hex');
      const rest = buf.subarray(36);
      if (rest.length > 0) sock.unshift(rest);
      const other = waiting.get(id);
      if (other) {
        waiting.delete(id);
        clearTimeout(other.timer);
        if (counts.active >= maxChannels || other.sock.destroyed) {
          refuse(sock, RELAY_ANSWER.busy);
          if (!other.sock.destroyed) refuse(other.sock, RELAY_ANSWER.busy);
          return;
        }
        splice(other.sock, sock);
        return;
      }
      if (waiting.size >= maxWaiting) {
        refuse(sock, RELAY_ANSWER.busy);
        return;
      }
      const timer = setTimeout(() => {
        if (waiting.get(id)?.sock === sock) waiting.delete(id);
        refuse(sock, RELAY_ANSWER.timeout);
      }, waitMs);
      timer.unref();
      waiting.set(id, { sock, timer });
      sock.once('close', () => {
        const w = waiting.get(id);
        if (w?.sock === sock) {
          clearTimeout(w.timer);
          waiting.delete(id);
        }
      });
    };
    sock.on('data', onData);
  });

  const splice = (a: Socket, b: Socket) => {
    counts.paired++;
    counts.active++;
    let ended = false;
    const end = (hard: boolean) => {
      if (ended) return;
      ended = true;
      counts.active--;
      if (hard) {
        a.destroy();
        b.destroy();
        return;
      }
      // One end closed: what it sent last (a failure notice) is still on its way through pipe(); end the other
      // end after it, and drop it if it does not go within 2 s.
      a.end();
      b.end();
      setTimeout(() => {
        a.destroy();
        b.destroy();
      }, 2000).unref();
    };
    for (const s of [a, b]) {
      s.on('close', () => end(false));
      s.on('error', () => end(true));
    }
    a.write(Buffer.from([RELAY_ANSWER.paired]));
    b.write(Buffer.from([RELAY_ANSWER.paired]));
    a.pipe(b);
    b.pipe(a);
    a.resume();
    b.resume();
  };

  server.listen(o.port, o.address);
  await once(server, 'listening');
  const addr = server.address() as { address: string; port: number };
  return {
    server,
    address: addr.address,
    port: addr.port,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of waiting.values()) {
          clearTimeout(w.timer);
          w.sock.destroy();
        }
        waiting.clear();
        server.close(() => resolve());
        for (const s of all) s.destroy();
      }),
  };
}

/**
 * Join channel `name` at the relay: resolves with the spliced socket once the other end is there.
 * @throws OnepadError PIPE_RELAY_FAILED (details.reason: cannot connect, nobody came, busy, bad hello, closed)
 */
export function joinRelay(relay: { host: string; port: number }, name: string, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: relay.host, port: relay.port, noDelay: true, allowHalfOpen: false });
    let done = false;
    const failWith = (reason: string) => {
      if (done) return;
      done = true;
      sock.destroy();
      reject(new OnepadError('PIPE_RELAY_FAILED', { reason }));
    };
    const onAbort = () => failWith('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => sock.write(Buffer.concat([RELAY_MAGIC, channelId(name)])));
    sock.once('error', () => failWith('cannot connect'));
    sock.once('close', () => failWith('closed'));
    sock.once('data', (c: Buffer) => {
      const answer = c[0] as number;
      if (answer !== RELAY_ANSWER.paired) {
        failWith(REASON[answer] ?? 'bad answer');
        return;
      }
      done = true;
      signal?.removeEventListener('abort', onAbort);
      sock.removeAllListeners('close');
      sock.removeAllListeners('error');
      sock.pause();
      if (c.length > 1) sock.unshift(c.subarray(1));
      resolve(sock);
    });
  });
}
