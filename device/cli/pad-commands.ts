/**
 * Developer commands on data dirs: make a matched pad pair, list pads, show events, and package/unpackage
 * offline (no RPC, no screen: the user at the terminal is the confirmation), so a package can be inspected end
 * to end.
 */
import { parseConfig } from '../config/config.js';
import type { Confirmer } from '../confirm.js';
import { prepareDataDir } from '../data-dir.js';
import { DeviceEngine } from '../engine.js';
import { OnepadError } from '../errors.js';
import { JUNK_KINDS } from '../events.js';
import { inspectDataDir } from '../inspect.js';
import { burnAbandoned, listBurning } from '../pad-burner.js';
import { createPadPairAsync } from '../pad-pair.js';
import { allocatedBytes, storagePlan } from '../storage.js';
import { type OptionSpecs, option, parseArgs, sizeOption, stringOption } from './args.js';
import type { Command, CommandContext, CommandGroup } from './command.js';
import { formatBytes, formatDuration, throttledProgress } from './progress.js';

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

const CREATE_PAIR_OPTIONS = {
  a: option('DIR', "side A's data dir (created if missing)"),
  b: option('DIR', "side B's data dir (created if missing)"),
  'name-a': option('NAME', 'the name side B knows side A by (default alice)'),
  'name-b': option('NAME', 'the name side A knows side B by (default bob)'),
  size: option('N[k|M|G]', 'pad size in bytes (k, M, G: powers of 1024)'),
  seed: option('TEXT', 'make the pad from a seeded stream (INSECURE; give this or --source)'),
  source: option('FILE', 'take the pad bytes from FILE (give this or --seed)'),
} satisfies OptionSpecs;

const createPair: Command = {
  name: 'create-pair',
  usage:
    'pad create-pair --a DIR --b DIR [--name-a alice] [--name-b bob] --size N[k|M|G] (--seed TEXT | --source FILE)   make the same INSECURE pad in two data dirs',
  options: CREATE_PAIR_OPTIONS,
  example: 'pad create-pair --a /tmp/alice --b /tmp/bob --size 1M --seed demo',
  async run(ctx) {
    const args = parseArgs(ctx.argv, CREATE_PAIR_OPTIONS);
    const seed = args.options.get('seed');
    const file = args.options.get('source');
    if ((seed === undefined) === (file === undefined)) {
      throw new OnepadError('INVALID_ARGUMENT', { option: 'seed' }, 'give exactly one of --seed or --source');
    }
    const { padId } = await createPadPairAsync({
      dirA: stringOption(args, 'a'),
      dirB: stringOption(args, 'b'),
      nameA: stringOption(args, 'name-a', 'alice'),
      nameB: stringOption(args, 'name-b', 'bob'),
      size: sizeOption(args, 'size'),
      source: typeof seed === 'string' ? { kind: 'seeded', seed } : { kind: 'file', path: file as string },
      signal: ctx.signal,
      onProgress: throttledProgress(ctx.stderr, 'create-pair'),
    });
    write(ctx, `pad ${padId} created (INSECURE: not from a health-tested hardware RNG)`);
    return 0;
  },
};

const DIR_OPTIONS = { dir: option('DIR', 'the data dir') } satisfies OptionSpecs;

const STORAGE_OPTIONS = {
  dir: option('DIR', 'the data dir'),
  rate: option('N', 'the source rate in bytes/s (k/M suffixes), as `onepad hrng fill` prints it'),
} satisfies OptionSpecs;

const burn: Command = {
  name: 'burn',
  usage: 'pad burn --dir DIR   burn the abandoned pad files of a data dir now (resumes a stopped burn)',
  options: DIR_OPTIONS,
  example: 'pad burn --dir /tmp/alice',
  async run(ctx) {
    const args = parseArgs(ctx.argv, DIR_OPTIONS);
    const pads = prepareDataDir(stringOption(args, 'dir')).pads;
    if (listBurning(pads).length === 0) {
      write(ctx, 'nothing to burn');
      return 0;
    }
    const r = await burnAbandoned(pads, { signal: ctx.signal, onProgress: throttledProgress(ctx.stderr, 'burn') });
    if (!r.complete) throw new OnepadError('CANCELLED', { left: listBurning(pads).length }, 'burn stopped; run again');
    write(ctx, 'burned');
    return 0;
  },
};

const storage: Command = {
  name: 'storage',
  usage:
    'pad storage --dir DIR [--rate N]   the largest pool and pad this storage holds, and the pool fill time at N bytes/s',
  options: STORAGE_OPTIONS,
  example: 'pad storage --dir /var/lib/onepad --rate 50k',
  async run(ctx) {
    const args = parseArgs(ctx.argv, STORAGE_OPTIONS);
    const layout = prepareDataDir(stringOption(args, 'dir'));
    // The ring is sparse until filled: what it takes on the disk is its allocated blocks, not its length.
    const poolNow = allocatedBytes(layout.pool);
    const rate = args.options.has('rate') ? sizeOption(args, 'rate') : undefined;
    const plan = storagePlan(layout.root, poolNow, rate);
    write(ctx, `free ${formatBytes(plan.free)} of ${formatBytes(plan.size)}`);
    write(ctx, `largest pool ${formatBytes(plan.largestPool)} (hrng.poolMaxBytes ${plan.largestPool})`);
    write(ctx, `largest pad ${formatBytes(plan.largestPad)} (pairing.maxPadBytes ${plan.largestPad})`);
    if (plan.fillSeconds !== null) {
      write(ctx, `the pool fills in ${formatDuration(plan.fillSeconds)} at ${formatBytes(rate ?? 0)}/s`);
    } else {
      write(ctx, 'give --rate (the source rate `onepad hrng fill` prints) for the pool fill time');
    }
    return 0;
  },
};

const list: Command = {
  name: 'list',
  usage: 'pad list --dir DIR   list the pads of a data dir with what is left',
  options: DIR_OPTIONS,
  example: 'pad list --dir /tmp/alice',
  async run(ctx) {
    const args = parseArgs(ctx.argv, DIR_OPTIONS);
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

const EVENTS_OPTIONS = {
  dir: option('DIR', 'the data dir'),
  limit: option('N', 'how many events, newest first (default 20)'),
} satisfies OptionSpecs;

const events: Command = {
  name: 'events',
  usage: 'pad events --dir DIR [--limit N]   show the newest security events',
  options: EVENTS_OPTIONS,
  example: 'pad events --dir /tmp/alice --limit 5',
  async run(ctx) {
    const args = parseArgs(ctx.argv, EVENTS_OPTIONS);
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

const OFFLINE_PACKAGE_OPTIONS = {
  dir: option('DIR', 'the data dir'),
  to: option('CONTACT', 'the contact whose pad encrypts it'),
} satisfies OptionSpecs;

const offlinePackage: Command = {
  name: 'package',
  usage: 'offline package --dir DIR --to CONTACT TEXT   package a message against a data dir, print base64',
  options: OFFLINE_PACKAGE_OPTIONS,
  example: 'offline package --dir /tmp/alice --to bob meet me at nine',
  async run(ctx) {
    const args = parseArgs(ctx.argv, OFFLINE_PACKAGE_OPTIONS);
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
  options: DIR_OPTIONS,
  example: 'offline unpackage --dir /tmp/bob AQAAAAAAAAA...',
  async run(ctx) {
    const args = parseArgs(ctx.argv, DIR_OPTIONS);
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

export const padCommands: CommandGroup = { name: 'pad', commands: [createPair, burn, storage, list, events] };
export const offlineCommands: CommandGroup = { name: 'offline', commands: [offlinePackage, offlineUnpackage] };
