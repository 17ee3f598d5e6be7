/**
 * Developer commands on data dirs: make a matched pad pair, list pads, show events, and package/unpackage
 * offline (no RPC, no screen: the user at the terminal is the confirmation), so a package can be inspected end
 * to end.
 */
import { statSync } from 'node:fs';
import { parseConfig } from '../config/config.js';
import type { Confirmer } from '../confirm.js';
import { prepareDataDir } from '../data-dir.js';
import { DeviceEngine } from '../engine.js';
import { OnepadError } from '../errors.js';
import { burnAbandoned, listBurning } from '../pad-burner.js';
import { createPadPairAsync } from '../pad-pair.js';
import { storagePlan } from '../storage.js';
import { parseArgs, sizeOption, stringOption } from './args.js';
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

const burn: Command = {
  name: 'burn',
  usage: 'pad burn --dir DIR   burn the abandoned pad files of a data dir now (resumes a stopped burn)',
  async run(ctx) {
    const args = parseArgs(ctx.argv, ['dir']);
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
    'pad storage --dir DIR [--rate N[k|M]]   the largest pool and pad this storage holds, and the pool fill time at N bytes/s',
  async run(ctx) {
    const args = parseArgs(ctx.argv, ['dir', 'rate']);
    const layout = prepareDataDir(stringOption(args, 'dir'));
    const poolNow = statSync(layout.pool, { throwIfNoEntry: false })?.size ?? 0;
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
  async run(ctx) {
    const args = parseArgs(ctx.argv, ['dir']);
    await withOfflineEngine(stringOption(args, 'dir'), async (engine) => {
      for (const p of engine.pads()) {
        write(
          ctx,
          `${p.padId}  ${p.contact.padEnd(16)} side ${p.side}  ${p.state.padEnd(9)} ${p.remaining} bytes left (~${p.messagesLeft} messages)${p.insecure ? '  INSECURE' : ''}`,
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
    await withOfflineEngine(stringOption(args, 'dir'), async (engine) => {
      for (const e of engine.events.recent(sizeOption(args, 'limit', 20))) {
        write(
          ctx,
          `${new Date(e.time).toISOString()}  ${e.kind.padEnd(15)} ${e.padId ?? '-'}  ${JSON.stringify(e.detail)}`,
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

export const padCommands: CommandGroup = { name: 'pad', commands: [createPair, burn, storage, list, events] };
export const offlineCommands: CommandGroup = { name: 'offline', commands: [offlinePackage, offlineUnpackage] };
