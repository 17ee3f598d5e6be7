/**
 * CLI commands of the link: `onepad package` and `onepad unpackage`, the host's client commands against a device
 * URL. (`onepad device`, which runs the service, lives in the composition root, device/service/device-command.ts.)
 */
import type { Writable } from 'node:stream';
import { flag, type OptionSpecs, option, type ParsedArgs, parseArgs, stringOption } from '../device/cli/args.js';
import type { Command, CommandGroup } from '../device/cli/command.js';
import { reportError } from '../device/cli/report-error.js';
import { OnepadError } from '../device/errors.js';
import { DEFAULT_DEVICE_URL, LinkClient } from './client.js';
import { decodeBase64 } from './codec.js';
import type { UnpackageResponse } from './protocol.js';

function writeLine(out: Writable, line: string): void {
  out.write(`${line}\n`);
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
      return reportError(ctx.stderr, e);
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
      return reportError(ctx.stderr, e);
    }
  },
};

/** `onepad package` and `onepad unpackage`: the host's client commands against a device URL. */
export const rpcCommands: CommandGroup = { name: 'rpc', topLevel: true, commands: [packageCommand, unpackageCommand] };
