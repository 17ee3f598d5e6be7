/**
 * CLI commands of the link: `onepad device` runs the device service; `onepad package` and `onepad unpackage`
 * are the host's client commands against a device URL.
 */
import type { Writable } from 'node:stream';
import { flag, type OptionSpecs, option, type ParsedArgs, parseArgs, stringOption } from '../device/cli/args.js';
import type { Command, CommandContext, CommandGroup } from '../device/cli/command.js';
import { type Config, loadConfig } from '../device/config/config.js';
import { autoApprove, type Confirmer } from '../device/confirm.js';
import type { DeviceEngine, PrivateDisplay } from '../device/engine.js';
import { isOnepadError, OnepadError } from '../device/errors.js';
import { notifyReady, notifyStopping, startupStep } from '../device/sd-notify.js';
import { DEFAULT_DEVICE_URL, LinkClient } from './client.js';
import { decodeBase64 } from './codec.js';
import type { UnpackageResponse } from './protocol.js';
import { startDeviceService } from './service.js';

function writeLine(out: Writable, line: string): void {
  out.write(`${line}\n`);
}

/**
 * Print an error as device/cli/dispatch.ts does (`onepad: CODE: message`, plus its non-secret details) and return
 * its exit code: 64 for a usage error, 2 for any other.
 */
function fail(ctx: CommandContext, e: unknown): number {
  if (isOnepadError(e)) {
    const details = Object.entries(e.details)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    writeLine(ctx.stderr, `onepad: ${e.code}: ${e.message}${details ? ` (${details})` : ''}`);
    return e.code === 'INVALID_ARGUMENT' ? 64 : 2;
  }
  writeLine(ctx.stderr, 'onepad: INTERNAL: unexpected failure');
  return 2;
}

/** A confirmation screen for the device: the touchscreen, or the simulated screen. */
export interface Screen {
  readonly confirmer: Confirmer;
  /** Shows received plaintext on the screen (private receive). */
  readonly privateDisplay?: PrivateDisplay;
  /** Called once the engine is open, so the screen can show contacts and warnings. */
  attachEngine?(engine: DeviceEngine): void;
  close(): Promise<void> | void;
}

/**
 * Opens the device's screen. display/ provides it; the device's main passes it to {@link rpcCommandGroup}.
 * `hardware` is `simulated` for `--sim`.
 */
export type ScreenFactory = (config: Config, hardware: 'simulated' | 'device') => Promise<Screen>;

/**
 * Choose the confirmation for the device. `--auto-approve` is only for a simulated, insecure device; otherwise
 * the screen from `screen` asks the user.
 *
 * @throws OnepadError INSECURE_REFUSED for `--auto-approve` on anything but `--sim` with `device.simulated`;
 *   NO_CONFIRMER when there is no screen factory for the chosen hardware
 */
export async function chooseScreen(opts: {
  readonly sim: boolean;
  readonly autoApprove: boolean;
  readonly config: Config;
  readonly screen?: ScreenFactory | undefined;
}): Promise<Screen> {
  if (opts.autoApprove) {
    if (!opts.sim || !opts.config.device.simulated) {
      throw new OnepadError(
        'INSECURE_REFUSED',
        { option: 'auto-approve' },
        '--auto-approve needs --sim and device.simulated: true',
      );
    }
    return { confirmer: autoApprove, close: () => undefined };
  }
  if (!opts.screen) {
    throw new OnepadError(
      'NO_CONFIRMER',
      { hardware: opts.sim ? 'simulated' : 'device' },
      opts.sim ? 'the simulated screen is not available; use --auto-approve' : 'the touchscreen is not available',
    );
  }
  return opts.screen(opts.config, opts.sim ? 'simulated' : 'device');
}

/** Resolve when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

const DEVICE_OPTIONS = {
  config: option('FILE', 'the device config (JSON, docs/RPC.md)'),
  sim: flag('simulated hardware: the screen is served as a page on loopback'),
  'auto-approve': flag('approve every request without a screen (only with --sim and device.simulated: INSECURE)'),
  port: option('N', 'listen on this port instead of link.port (0: any free port)'),
} satisfies OptionSpecs;

function deviceCommand(screenFactory: ScreenFactory | undefined): Command {
  return {
    name: 'device',
    usage:
      'device --config FILE [--sim] [--auto-approve] [--port N]   run the device: engine, confirmation, link server',
    options: DEVICE_OPTIONS,
    example: 'device --config /etc/onepad/config.json',
    async run(ctx) {
      let screen: Screen | undefined;
      try {
        const args = parseArgs(ctx.argv, DEVICE_OPTIONS);
        const config = loadConfig(stringOption(args, 'config'));
        startupStep('opening the screen');
        const sim = args.options.get('sim') === true;
        const portArg = args.options.get('port');
        const port = typeof portArg === 'string' ? Number(portArg) : undefined;
        if (port !== undefined && (!/^\d+$/.test(portArg as string) || port > 65535)) {
          throw new OnepadError('INVALID_ARGUMENT', { option: 'port' }, '--port must be 0..65535');
        }
        screen = await chooseScreen({
          sim,
          autoApprove: args.options.get('auto-approve') === true,
          config,
          screen: screenFactory,
        });
        const service = await startDeviceService({
          config,
          confirmer: screen.confirmer,
          ...(screen.privateDisplay ? { privateDisplay: screen.privateDisplay } : {}),
          simulated: sim && config.device.simulated,
          logStream: ctx.stdout,
          ...(port !== undefined ? { port } : {}),
        });
        startupStep('starting the filler');
        screen.attachEngine?.(service.engine);
        notifyReady('serving the link');
        service.server.log.info({ address: service.address, port: service.port }, 'device ready');
        await aborted(ctx.signal);
        notifyStopping();
        service.server.log.info('stopping');
        await service.stop();
        return 0;
      } catch (e) {
        return fail(ctx, e);
      } finally {
        await screen?.close();
      }
    },
  };
}

function clientFrom(args: ParsedArgs): LinkClient {
  const url = stringOption(args, 'url', process.env.ONEPAD_DEVICE_URL ?? DEFAULT_DEVICE_URL);
  const t = args.options.get('timeout');
  const timeoutMs = typeof t === 'string' ? Number(t) : undefined;
  return new LinkClient({ url, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
}

const URL_OPTION = option('URL', 'the device (default $ONEPAD_DEVICE_URL or the link address)');
const TIMEOUT_OPTION = option('MS', 'give up after this many milliseconds');

const PACKAGE_OPTIONS = {
  to: option('NAME', 'the contact to encrypt for'),
  url: URL_OPTION,
  timeout: TIMEOUT_OPTION,
  base64: flag('MESSAGE is bytes in base64, not text'),
} satisfies OptionSpecs;

const packageCommand: Command = {
  name: 'package',
  usage: 'package --to NAME [--url URL] [--timeout MS] [--base64] MESSAGE   print the package for MESSAGE',
  options: PACKAGE_OPTIONS,
  example: "package --to bob 'meet me at nine'",
  async run(ctx) {
    try {
      const args = parseArgs(ctx.argv, PACKAGE_OPTIONS);
      const to = stringOption(args, 'to');
      if (args.positionals.length !== 1) {
        throw new OnepadError('INVALID_ARGUMENT', { argument: 'message' }, 'give exactly one message argument');
      }
      const message = args.positionals[0] as string;
      const content =
        args.options.get('base64') === true ? { bytes: decodeBase64(message, 'message') } : { text: message };
      writeLine(ctx.stderr, 'waiting for approval on the device...');
      const r = await clientFrom(args).package(to, content, ctx.signal);
      writeLine(ctx.stdout, r.package);
      writeLine(ctx.stderr, `for ${r.contact}: ${r.remaining} pad bytes left, about ${r.messagesLeft} messages`);
      if (r.insecure) writeLine(ctx.stderr, 'warning: INSECURE pad (simulated or seeded entropy)');
      return 0;
    } catch (e) {
      return fail(ctx, e);
    }
  },
};

/** The lines `onepad unpackage` prints for an answer. */
export function describeUnpackage(r: UnpackageResponse): { out: string[]; warn: string[] } {
  const out = [`from: ${r.contact}`];
  if (r.text !== null) out.push(`text: ${r.text}`);
  else if (r.bytes !== null) out.push(`bytes (base64): ${r.bytes}`);
  else out.push(`(${r.length} bytes, shown on the device's screen only)`);
  const warn: string[] = [];
  for (const g of r.gaps) {
    warn.push(
      `warning: gap: ${g.end - g.start} pad bytes of ${r.contact}'s messages before this one were not received ` +
        `(pad range ${g.start}-${g.end}); messages are missing or late`,
    );
  }
  if (r.late) warn.push('note: this message arrived late (it fills part of an earlier gap)');
  if (r.insecure) warn.push('warning: INSECURE pad (simulated or seeded entropy)');
  return { out, warn };
}

const UNPACKAGE_OPTIONS = { url: URL_OPTION, timeout: TIMEOUT_OPTION } satisfies OptionSpecs;

const unpackageCommand: Command = {
  name: 'unpackage',
  usage: 'unpackage [--url URL] [--timeout MS] PACKAGE_BASE64   print sender, text and gap warnings',
  options: UNPACKAGE_OPTIONS,
  example: 'unpackage AQAAAAAAAAA...',
  async run(ctx) {
    try {
      const args = parseArgs(ctx.argv, UNPACKAGE_OPTIONS);
      if (args.positionals.length !== 1) {
        throw new OnepadError('INVALID_ARGUMENT', { argument: 'package' }, 'give exactly one package argument');
      }
      const r = await clientFrom(args).unpackage(args.positionals[0] as string, ctx.signal);
      const { out, warn } = describeUnpackage(r);
      for (const l of out) writeLine(ctx.stdout, l);
      for (const l of warn) writeLine(ctx.stdout, l);
      return 0;
    } catch (e) {
      return fail(ctx, e);
    }
  },
};

/**
 * `onepad device`, `onepad package`, `onepad unpackage`, with the device's screen from `screen` (without one,
 * `onepad device` runs only as `--sim --auto-approve`).
 */
export function rpcCommandGroup(screen?: ScreenFactory): CommandGroup {
  return { name: 'rpc', topLevel: true, commands: [deviceCommand(screen), packageCommand, unpackageCommand] };
}

/** The commands without a screen factory (the device's main may use {@link rpcCommandGroup} to add one). */
export const rpcCommands: CommandGroup = rpcCommandGroup();
