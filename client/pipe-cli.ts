/**
 * `onepad pipe`: spiped and spipe through the device (docs/PIPE.md).
 *
 *   onepad pipe -e -s [127.0.0.1]:8025 -t peer:8025 --contact bob    plaintext in on -s, encrypted out to -t
 *   onepad pipe -d -s [0.0.0.0]:8025 -t [127.0.0.1]:25 --contact alice  encrypted in on -s, plaintext out to -t
 *   onepad pipe -t peer:8025 --contact bob                           stdin/stdout to the -d end at -t (spipe)
 *
 * The pipe opens one session on the laptop's own device at start (the owner approves budget and time on the
 * device's screen) and uses it for every connection; it keeps the session alive while it runs and ends it on exit.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { aborted } from '../device/cli/aborted.js';
import { flag, type OptionSpecs, option, parseArgs, sizeOption, stringOption } from '../device/cli/args.js';
import type { Command, CommandContext } from '../device/cli/command.js';
import { reportError } from '../device/cli/report-error.js';
import { isOnepadError, OnepadError } from '../device/errors.js';
import { DEFAULT_DEVICE_URL } from '../rpc/client.js';
import { runPipeConnection } from './pipe-connection.js';
import { FRAME_HEADER } from './pipe-frames.js';
import { SessionLink } from './pipe-link.js';
import { runChannelMode } from './pipe-mux-cli.js';
import { startPipeRelay } from './pipe-relay.js';

/** A socket address as spiped writes it: `[IP]:port`, `host:port`, or a Unix socket path (starting with `/`). */
export type SocketAddress = { readonly path: string } | { readonly host: string; readonly port: number };

/** @throws OnepadError INVALID_ARGUMENT naming `option` */
export function parseSocketAddress(text: string, optionName: string, listening = false): SocketAddress {
  if (text.startsWith('/')) return { path: text };
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  // Port 0 (any free port) only where we listen.
  if (!m || port < (listening ? 0 : 1) || port > 65535) {
    throw new OnepadError(
      'INVALID_ARGUMENT',
      { option: optionName },
      `--${optionName} must be [IP]:PORT, HOST:PORT or /PATH`,
    );
  }
  return { host: m[1] as string, port };
}

function dial(a: SocketAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = 'path' in a ? connect(a.path) : connect({ host: a.host, port: a.port });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', () => reject(new OnepadError('PIPE_BROKEN', { reason: 'cannot connect to the target' })));
  });
}

const SHORT: Record<string, string> = { '-e': '--encrypt', '-d': '--decrypt', '-s': '--source', '-t': '--target' };

export const PIPE_OPTIONS = {
  encrypt: flag('(-e) take plaintext connections on --source and send them encrypted to --target'),
  decrypt: flag('(-d) take encrypted connections on --source and pass them as plaintext to --target'),
  source: option('ADDR', '(-s) where to listen: [IP]:PORT, HOST:PORT or /PATH'),
  target: option('ADDR', '(-t) where to connect; without -e/-d, stdin/stdout go to the -d end there'),
  contact: option('NAME', 'the contact at the other end (its pad on your device)'),
  device: option('URL', 'your device (default $ONEPAD_DEVICE_URL or the link address)'),
  budget: option('BYTES', 'pad the session may use (asked; the owner may change it on the device; default 64M)'),
  time: option('SECONDS', 'how long the session may run (asked; default 3600)'),
  'pad-to': option('N', 'pad every frame to N bytes (hides lengths; costs N+32 bytes of pad per frame)'),
  frame: option('N', 'most data bytes per frame without padding (default 16384)'),
  mux: flag('one channel for every connection (snitun style): -e dials it to -t, -d takes it on -s'),
  relay: option('ADDR', 'join the channel at this pipe relay instead of -t/-s (implies --mux; needs --channel)'),
  channel: option('NAME', 'the channel name both ends give the relay'),
  tap: option('NAME', 'carry the Ethernet frames of a new TAP interface NAME (root; with -t, -s or --relay)'),
  keepalive: option('SECONDS', 'on a channel, send a keepalive after this long without sending (default 10)'),
  'in-flight': option('N', 'device requests in flight at most each way, per connection without --mux (1-2; default 2)'),
} satisfies OptionSpecs;

/** What {@link runPipe} is given besides the command context. */
export interface PipeRunContext extends CommandContext {
  readonly stdin: Readable;
  /** Where stdin/stdout mode writes what arrives (process.stdout by default). */
  readonly plainOut?: Writable;
  /** Told the bound address once listening (tests). */
  readonly onListening?: (address: string | { address: string; port: number }) => void;
}

/** `onepad pipe`. @returns the exit code */
export async function runPipe(ctx: PipeRunContext): Promise<number> {
  let link: SessionLink | null = null;
  let server: Server | null = null;
  let keepalive: ReturnType<typeof setInterval> | null = null;
  try {
    const args = parseArgs(
      ctx.argv.map((a) => SHORT[a] ?? a),
      PIPE_OPTIONS,
    );
    const enc = args.options.get('encrypt') === true;
    const dec = args.options.get('decrypt') === true;
    if (enc && dec) throw new OnepadError('INVALID_ARGUMENT', { option: 'encrypt' }, 'give -e or -d, not both');
    const tapName = args.options.has('tap') ? stringOption(args, 'tap') : null;
    const relayText = args.options.has('relay') ? stringOption(args, 'relay') : null;
    const channelMode = tapName !== null || relayText !== null || args.options.get('mux') === true;
    if (tapName !== null && (enc || dec)) {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'tap' }, '--tap takes no -e or -d');
    }
    if (channelMode && tapName === null && !enc && !dec) {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'mux' }, 'a channel needs -e, -d or --tap');
    }
    const relayAddr = relayText !== null ? parseSocketAddress(relayText, 'relay') : null;
    if (relayAddr && 'path' in relayAddr) {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'relay' }, '--relay must be [IP]:PORT or HOST:PORT');
    }
    const channelName = relayAddr ? stringOption(args, 'channel') : null;
    // With the relay, the wire side's address is the relay: only the plaintext side is given.
    const needTarget = !(relayAddr && (enc || tapName !== null)) && !(tapName !== null && args.options.has('source'));
    const target = needTarget ? parseSocketAddress(stringOption(args, 'target'), 'target') : null;
    const needSource = (enc || dec) && !(relayAddr && dec);
    const source = needSource ? parseSocketAddress(stringOption(args, 'source'), 'source', true) : null;
    const tapListen =
      tapName !== null && !relayAddr && args.options.has('source')
        ? parseSocketAddress(stringOption(args, 'source'), 'source', true)
        : null;
    const keepaliveSec = args.options.has('keepalive') ? sizeOption(args, 'keepalive') : 10;
    if (keepaliveSec < 1) throw new OnepadError('INVALID_ARGUMENT', { option: 'keepalive' }, 'at least 1 second');
    const contact = stringOption(args, 'contact');
    const padTo = args.options.has('pad-to') ? sizeOption(args, 'pad-to') : null;
    if (padTo !== null && padTo <= FRAME_HEADER) {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'pad-to', min: FRAME_HEADER + 1 }, '--pad-to is too small');
    }
    const maxData = padTo !== null ? padTo - FRAME_HEADER : sizeOption(args, 'frame', 16384);
    if (maxData < 1) throw new OnepadError('INVALID_ARGUMENT', { option: 'frame' }, '--frame must be at least 1');
    const depth = args.options.has('in-flight') ? sizeOption(args, 'in-flight') : 2;
    if (depth < 1 || depth > 2) {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'in-flight' }, '--in-flight is 1 or 2');
    }
    link = new SessionLink(stringOption(args, 'device', process.env.ONEPAD_DEVICE_URL ?? DEFAULT_DEVICE_URL));
    const granted = await link.open(
      contact,
      {
        budgetBytes: sizeOption(args, 'budget', 64 << 20),
        timeLimitSec: sizeOption(args, 'time', 3600),
        frameSize: padTo,
      },
      ctx.signal,
    );
    ctx.stderr.write(
      `onepad pipe: session open: ${granted.budgetBytes} bytes of pad, ${Math.round((granted.expiresAt - Date.now()) / 1000)} s\n`,
    );
    const l = link;
    let lastCall = Date.now();
    keepalive = setInterval(() => {
      if (Date.now() - lastCall < 8000) return;
      lastCall = Date.now();
      l.package([]).catch(() => undefined);
    }, 2000);
    keepalive.unref();
    if (channelMode) {
      const wire = relayAddr
        ? { relay: relayAddr as { host: string; port: number }, channel: channelName as string }
        : tapListen
          ? { listen: tapListen }
          : enc || tapName !== null
            ? { dial: target as SocketAddress }
            : { listen: source as SocketAddress };
      const plain = tapName !== null ? null : enc ? source : target;
      await runChannelMode({
        link: l,
        mode: tapName !== null ? 'tap' : enc ? 'encrypt' : 'decrypt',
        plain,
        wire,
        tapName,
        maxData,
        keepaliveMs: keepaliveSec * 1000,
        signal: ctx.signal,
        log: (line) => ctx.stderr.write(`onepad pipe: ${line}\n`),
        ...(ctx.onListening ? { onListening: ctx.onListening } : {}),
      });
      return 0;
    }
    const conn = (plainIn: Readable, plainOut: Writable, wire: Socket, initiator: boolean) => {
      lastCall = Date.now();
      return runPipeConnection({ link: l, plainIn, plainOut, wire, initiator, maxData, depth });
    };

    if (!source || !target) {
      if (!target) throw new OnepadError('INTERNAL');
      const wire = await dial(target);
      await conn(ctx.stdin, ctx.plainOut ?? process.stdout, wire, true);
      return 0;
    }
    let fatal: unknown = null;
    const done = new AbortController();
    server = createServer({ noDelay: true }, (sock) => {
      void (async () => {
        let other: Socket | null = null;
        try {
          other = await dial(target as SocketAddress);
          // -e: the accepted socket is plaintext, the dialed one the wire; -d the other way round.
          if (enc) await conn(sock, sock, other, true);
          else await conn(other, other, sock, false);
        } catch (e) {
          sock.destroy();
          other?.destroy();
          if (isOnepadError(e) && (e.code === 'SESSION_ENDED' || e.code === 'SESSION_UNKNOWN')) {
            fatal = e;
            done.abort();
          } else {
            ctx.stderr.write(`onepad pipe: connection ended: ${isOnepadError(e) ? e.code : 'INTERNAL'}\n`);
          }
        }
      })();
    });
    if ('path' in source) server.listen(source.path);
    else server.listen(source.port, source.host);
    await once(server, 'listening');
    const addr = server.address();
    ctx.stderr.write(
      `onepad pipe: listening on ${typeof addr === 'string' ? addr : `${addr?.address}:${addr?.port}`}\n`,
    );
    if (addr && typeof addr !== 'string') ctx.onListening?.({ address: addr.address, port: addr.port });
    else if (addr) ctx.onListening?.(addr);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      ctx.signal.addEventListener('abort', stop, { once: true });
      done.signal.addEventListener('abort', stop, { once: true });
    });
    if (fatal) throw fatal;
    return 0;
  } catch (e) {
    if (isOnepadError(e)) {
      const details = Object.entries(e.details)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      ctx.stderr.write(`onepad: ${e.code}: ${e.message}${details ? ` (${details})` : ''}\n`);
      return e.code === 'INVALID_ARGUMENT' ? 64 : 2;
    }
    ctx.stderr.write('onepad: INTERNAL: unexpected failure\n');
    return 2;
  } finally {
    if (keepalive) clearInterval(keepalive);
    server?.close();
    await link?.end();
    const last = link?.last;
    if (last) {
      ctx.stderr.write(
        `onepad pipe: session ${last.state === 'ended' ? `ended (${last.endReason})` : 'left'}: pad used ${last.usedBytes} bytes for ${last.sentBytes} bytes sent in ${last.framesSent} frames, ${last.receivedBytes} bytes received\n`,
      );
      const t = link?.timings;
      if (t) {
        const med = (xs: number[]) => {
          const v = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
          return v === undefined ? '-' : v.toFixed(2);
        };
        ctx.stderr.write(
          `onepad pipe: device requests: package ${t.package.length} (median ${med(t.package)} ms), unpackage ${t.unpackage.length} (median ${med(t.unpackage)} ms)\n`,
        );
      }
    }
  }
}

export const pipeCommand: Command = {
  name: 'pipe',
  usage:
    'pipe (--encrypt|--decrypt) --source ADDR --target ADDR --contact NAME [--device URL] [--budget BYTES] [--time S] [--pad-to N] [--frame N] [--mux] [--relay ADDR --channel NAME] [--tap NAME] [--keepalive S] [--in-flight N]   a spiped-style tunnel through the device (short: -e -d -s -t; without --encrypt/--decrypt, stdin/stdout as spipe; --mux/--relay: many streams over one channel; --tap: Ethernet frames)',
  options: PIPE_OPTIONS,
  example: 'pipe -e -s [127.0.0.1]:8025 -t [10.0.0.2]:8025 --contact bob --budget 16M --time 600',
  run(ctx) {
    return runPipe({ ...ctx, stdin: process.stdin });
  },
};

const PIPE_RELAY_OPTIONS = {
  address: option('IP', 'the address to listen on, and nothing else (default 127.0.0.1)'),
  port: option('N', 'TCP port (default 4849; 0: any free port)'),
  'wait-ms': option('MS', 'how long one end of a channel waits for the other (default 120000)'),
} satisfies OptionSpecs;

/** `onepad pipe-relay`: the rendezvous for pipe channels (client/pipe-relay.ts). */
export const pipeRelayCommand: Command = {
  name: 'pipe-relay',
  usage:
    'pipe-relay [--address IP] [--port N] [--wait-ms MS]   run the pipe relay: splices the two ends of each pipe channel (trusted with nothing)',
  options: PIPE_RELAY_OPTIONS,
  example: 'pipe-relay --address 10.0.0.1 --port 4849',
  async run(ctx) {
    try {
      const args = parseArgs(ctx.argv, PIPE_RELAY_OPTIONS);
      const relay = await startPipeRelay({
        address: stringOption(args, 'address', '127.0.0.1'),
        port: sizeOption(args, 'port', 4849),
        waitMs: sizeOption(args, 'wait-ms', 120_000),
      });
      ctx.stderr.write(`onepad pipe-relay: listening on ${relay.address}:${relay.port}\n`);
      await aborted(ctx.signal);
      await relay.close();
      return 0;
    } catch (e) {
      return reportError(ctx.stderr, e);
    }
  },
};
