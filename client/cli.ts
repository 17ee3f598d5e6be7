/**
 * CLI commands of the chat: `onepad relay` runs the relay; `onepad chat` opens a chat session against the
 * user's own device and a relay.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { aborted } from '../device/cli/aborted.js';
import {
  flag,
  type OptionSpecs,
  option,
  type ParsedArgs,
  parseArgs,
  sizeOption,
  stringOption,
} from '../device/cli/args.js';
import type { Command, CommandContext, CommandGroup } from '../device/cli/command.js';
import { reportError } from '../device/cli/report-error.js';
import { DEFAULT_DEVICE_URL, LinkClient } from '../rpc/client.js';
import { ChatClient } from './chat.js';
import { pipeCommand, pipeRelayCommand } from './pipe-cli.js';
import { loadRelayConfig, parseRelayConfig, type RelayConfig } from './relay-config.js';
import { startRelay } from './relay-service.js';
import { runSession } from './session.js';

/** The relay config from `--config FILE` and/or `--address`, `--port`, `--db` (options win). */
export function relayConfigFrom(args: ParsedArgs): RelayConfig {
  const file = args.options.get('config');
  const base: Record<string, unknown> = typeof file === 'string' ? { ...loadRelayConfig(file) } : {};
  const address = args.options.get('address');
  if (typeof address === 'string') base.address = address;
  if (args.options.has('port')) base.port = sizeOption(args, 'port');
  const db = args.options.get('db');
  if (typeof db === 'string') base.dbPath = db;
  return parseRelayConfig(base);
}

const RELAY_OPTIONS = {
  config: option('FILE', 'the relay config (JSON, docs/CHAT.md); the options below override it'),
  address: option('IP', 'listen on this address'),
  port: option('N', 'listen on this port'),
  db: option('FILE', 'the SQLite file that stores messages'),
} satisfies OptionSpecs;

const relayCommand: Command = {
  name: 'relay',
  usage: 'relay [--config FILE] [--address IP] [--port N] [--db FILE]   run the relay (store and forward)',
  options: RELAY_OPTIONS,
  example: 'relay --address 127.0.0.1 --port 8443 --db relay.sqlite',
  async run(ctx) {
    try {
      const args = parseArgs(ctx.argv, RELAY_OPTIONS);
      const relay = await startRelay({ config: relayConfigFrom(args), logStream: ctx.stdout });
      relay.server.log.info({ address: relay.address, port: relay.port }, 'relay ready');
      await aborted(ctx.signal);
      await relay.stop();
      return 0;
    } catch (e) {
      return reportError(ctx.stderr, e);
    }
  },
};

/** Where the chat keeps its state when `--state` is not given. */
export function defaultStatePath(name: string): string {
  const base = process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config');
  const dir = join(base, 'onepad');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `chat-${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

/** What {@link runChat} is given: the command context, and the input lines. */
export interface ChatRunContext extends CommandContext {
  readonly stdin: Readable;
  /** The input is a terminal: show a prompt. */
  readonly interactive?: boolean;
}

const CHAT_OPTIONS = {
  name: option('NAME', 'your name, as your contacts know you'),
  relay: option('URL', 'the relay (default $ONEPAD_RELAY_URL)'),
  device: option('URL', 'your device (default $ONEPAD_DEVICE_URL or the link address)'),
  state: option('FILE', 'where the chat keeps its state (default ~/.config/onepad/chat-NAME.json)'),
  json: flag('read and write one JSON object per line instead of text'),
  'poll-ms': option('N', 'fetch from the relay every N milliseconds (default 2000)'),
  'low-pad': option('BYTES', 'warn when a pad has fewer bytes left (default 65536)'),
  timeout: option('MS', "give up on the device's answer after this many milliseconds"),
} satisfies OptionSpecs;

/**
 * `onepad chat --name NAME --relay URL [--device URL] [--state FILE] [--json] [--poll-ms N] [--low-pad BYTES]`.
 *
 * @returns the exit code
 */
export async function runChat(ctx: ChatRunContext): Promise<number> {
  try {
    const args = parseArgs(ctx.argv, CHAT_OPTIONS);
    const name = stringOption(args, 'name');
    const deviceUrl = stringOption(args, 'device', process.env.ONEPAD_DEVICE_URL ?? DEFAULT_DEVICE_URL);
    const relayUrl = stringOption(args, 'relay', process.env.ONEPAD_RELAY_URL);
    const timeout = args.options.has('timeout') ? sizeOption(args, 'timeout') : undefined;
    const device = new LinkClient({ url: deviceUrl, ...(timeout !== undefined ? { timeoutMs: timeout } : {}) });
    const client = new ChatClient({
      name,
      device,
      relayUrl,
      statePath: stringOption(args, 'state', '') || defaultStatePath(name),
      lowPadBytes: sizeOption(args, 'low-pad', 65536),
    });
    const json = args.options.get('json') === true;
    return await runSession({
      client,
      input: ctx.stdin,
      output: ctx.stdout,
      json,
      pollMs: sizeOption(args, 'poll-ms', 2000),
      signal: ctx.signal,
      prompt: !json && ctx.interactive === true,
    });
  } catch (e) {
    return reportError(ctx.stderr, e);
  }
}

const chatCommand: Command = {
  name: 'chat',
  usage:
    'chat --name NAME --relay URL [--device URL] [--state FILE] [--json] [--poll-ms N] [--low-pad BYTES] [--timeout MS]   chat through a relay',
  options: CHAT_OPTIONS,
  example: 'chat --name alice --relay http://127.0.0.1:8443 --device http://127.0.0.1:8080',
  run(ctx) {
    return runChat({ ...ctx, stdin: process.stdin, interactive: process.stdin.isTTY === true });
  },
};

/** `onepad relay` and `onepad chat`. */
export const chatCommands: CommandGroup = {
  name: 'chat',
  topLevel: true,
  commands: [relayCommand, chatCommand, pipeCommand, pipeRelayCommand],
};
