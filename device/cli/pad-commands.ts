/**
 * Developer commands on data dirs: make a matched pad pair, list pads, show events, and package/unpackage
 * offline (no RPC, no screen: the user at the terminal is the confirmation), so a package can be inspected end
 * to end.
 */
import { parseConfig } from '../config/config.js';
import type { Confirmer } from '../confirm.js';
import { DeviceEngine } from '../engine.js';
import { OnepadError } from '../errors.js';
import { JUNK_KINDS } from '../events.js';
import { inspectDataDir } from '../inspect.js';
import { createPadPair } from '../pad-pair.js';
import { parseArgs, sizeOption, stringOption } from './args.js';
import type { Command, CommandContext, CommandGroup } from './command.js';

/** Offline use: the operator typed the command, so the command line is the approval. */
const commandLineApproval: Confirmer = { confirm: async () => 'approved' };

/** Open the engine on a data dir for one command, and close it whatever happens. */
async function withOfflineEngine<T>(dir: string, fn: (engine: DeviceEngine) => Promise<T> | T): Promise<T> {
  const engine = DeviceEngine.open({
    config: parseConfig({ dataDir: dir, device: { simulated: true } }),
    confirmer: commandLineApproval,
  });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/** Listing: a read-only view without start-up recovery, refused (DATA_DIR_BUSY) while the dir is in use. */
function withInspection<T>(dir: string, fn: Parameters<typeof inspectDataDir<T>>[1]): Promise<T> {
  return inspectDataDir(parseConfig({ dataDir: dir, device: { simulated: true } }), fn);
}

function write(ctx: CommandContext, line: string): void {
  ctx.stdout.write(`${line}\n`);
}

const createPair: Command = {
  name: 'create-pair',
  usage:
    'pad create-pair --a DIR --b DIR [--name-a alice] [--name-b bob] --size N[k|M|G] (--seed TEXT | --source FILE)   make the same INSECURE pad in two data dirs',
  async run(ctx) {
    const args = parseArgs(ctx.argv, ['a', 'b', 'name-a', 'name-b', 'size', 'seed', 'source']);
    const seed = args.options.get('seed');
    const file = args.options.get('source');
    if ((seed === undefined) === (file === undefined)) {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'seed' }, 'give exactly one of --seed or --source');
    }
    const { padId } = createPadPair({
      dirA: stringOption(args, 'a'),
      dirB: stringOption(args, 'b'),
      nameA: stringOption(args, 'name-a', 'alice'),
      nameB: stringOption(args, 'name-b', 'bob'),
      size: sizeOption(args, 'size'),
      source: typeof seed === 'string' ? { kind: 'seeded', seed } : { kind: 'file', path: file as string },
    });
    write(ctx, `pad ${padId} created (INSECURE: not from a health-tested hardware RNG)`);
    return 0;
  },
};

const list: Command = {
  name: 'list',
  usage: 'pad list --dir DIR   list the pads of a data dir with what is left',
  async run(ctx) {
    const args = parseArgs(ctx.argv, ['dir']);
    await withInspection(stringOption(args, 'dir'), (view) => {
      for (const p of view.pads()) {
        write(
          ctx,
          `${p.padId}  ${p.contact.padEnd(16)} side ${p.side}  ${p.state.padEnd(9)} ${p.remaining} bytes left (~${p.messagesLeft} messages; ${p.keySlotsLeft} key slots, ${p.streamLeft} stream bytes)${p.wireVersion !== 2 ? '  WIRE v1: UNUSABLE' : ''}${p.insecure ? '  INSECURE' : ''}`,
        );
      }
    });
    return 0;
  },
};

const events: Command = {
  name: 'events',
  usage: 'pad events --dir DIR [--limit N]   show the newest security events',
  async run(ctx) {
    const args = parseArgs(ctx.argv, ['dir', 'limit']);
    await withInspection(stringOption(args, 'dir'), (view) => {
      for (const e of view.events?.recent(sizeOption(args, 'limit', 20)) ?? []) {
        write(
          ctx,
          `${new Date(e.time).toISOString()}  ${e.kind.padEnd(15)} ${e.padId ?? '-'}  ${JSON.stringify(e.detail)}`,
        );
      }
      for (const c of view.events?.counts().filter((x) => JUNK_KINDS.has(x.kind)) ?? []) {
        write(
          ctx,
          `junk: ${c.kind} ${c.reason || '-'} ${c.padId ?? '-'} x${c.count} (last ${new Date(c.lastTime).toISOString()})`,
        );
      }
    });
    return 0;
  },
};

const offlinePackage: Command = {
  name: 'package',
  usage: 'offline package --dir DIR --to CONTACT TEXT   package a message against a data dir, print base64',
  async run(ctx) {
    const args = parseArgs(ctx.argv, ['dir', 'to']);
    const textArg = args.positionals.join(' ');
    await withOfflineEngine(stringOption(args, 'dir'), async (engine) => {
      const r = await engine.package(stringOption(args, 'to'), new TextEncoder().encode(textArg));
      write(ctx, Buffer.from(r.package).toString('base64'));
      ctx.stderr.write(
        `cost ${r.cost} bytes; ${r.remaining} left (~${r.messagesLeft} messages)${r.insecure ? '; INSECURE pad' : ''}\n`,
      );
    });
    return 0;
  },
};

const offlineUnpackage: Command = {
  name: 'unpackage',
  usage: 'offline unpackage --dir DIR BASE64   unpackage against a data dir, print sender and text',
  async run(ctx) {
    const args = parseArgs(ctx.argv, ['dir']);
    const b64 = args.positionals[0];
    if (!b64) throw new OnepadError('INVALID_ARGUMENT', { argument: 'package' }, 'give the package in base64');
    await withOfflineEngine(stringOption(args, 'dir'), async (engine) => {
      const r = await engine.unpackage(Buffer.from(b64, 'base64'));
      write(
        ctx,
        `from ${r.contact}${r.insecure ? ' (INSECURE pad)' : ''}: ${new TextDecoder().decode(r.plaintext ?? new Uint8Array())}`,
      );
      for (const g of r.gaps) ctx.stderr.write(`warning: messages missing in pad range [${g.start}, ${g.end})\n`);
      if (r.late) ctx.stderr.write('note: this message arrived late (out of order)\n');
    });
    return 0;
  },
};

export const padCommands: CommandGroup = { name: 'pad', commands: [createPair, list, events] };
export const offlineCommands: CommandGroup = { name: 'offline', commands: [offlinePackage, offlineUnpackage] };
