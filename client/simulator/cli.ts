/**
 * `onepad simulate [--dir DIR] [--fresh] [--port N] [--pair-by-hand] [--smoke]`: the simulated world with its page.
 * `npm start` runs it. `--smoke` (or ONEPAD_SMOKE=1) starts everything in a temporary dir, sends one message from
 * alice to bob through alice's screen (holding Approve as a person would), checks bob reads it, and exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, sizeOption, stringOption } from '../../device/cli/args.js';
import type { Command, CommandGroup } from '../../device/cli/command.js';
import { LinkClient } from '../../rpc/client.js';
import { startPageServer } from './page-server.js';
import { holdButton, waitForScreen } from './touch.js';
import { startWorld, type World } from './world.js';

async function smoke(world: World, out: (s: string) => void): Promise<number> {
  const alice = world.devices.alice;
  const bob = world.devices.bob;
  const text = 'smoke test: hello bob';
  const sending = new LinkClient({ url: alice.url }).package('bob', { text });
  const shown = await waitForScreen(alice.screen, 'confirm-encrypt');
  if (!shown.includes('bob') || !shown.includes(text)) throw new Error('the confirm screen does not show the request');
  await holdButton(alice.screen, 'approve', alice.config.display.holdMs + 300);
  const pkg = await sending;
  const got = await new LinkClient({ url: bob.url }).unpackage(pkg.package);
  if (got.text !== text || got.contact !== 'alice') throw new Error('bob did not read what alice sent');
  out(`smoke: alice -> bob through the confirm screen: ${pkg.cost} pad bytes, bob read "${got.text}"`);
  return 0;
}

const simulate: Command = {
  name: 'simulate',
  usage:
    'simulate [--dir DIR] [--fresh] [--port N] [--pair-by-hand] [--smoke]   two simulated devices, paired, with a page showing their screens',
  async run(ctx) {
    const args = parseArgs(ctx.argv, ['dir', 'port'], ['fresh', 'pair-by-hand', 'smoke']);
    const out = (s: string) => ctx.stdout.write(`${s}\n`);
    const isSmoke = args.options.has('smoke') || process.env.ONEPAD_SMOKE === '1';
    const tmp = isSmoke ? mkdtempSync(join(tmpdir(), 'onepad-smoke-')) : null;
    const world = await startWorld({
      dir: tmp ?? stringOption(args, 'dir', '.onepad-sim'),
      fresh: args.options.has('fresh'),
      pairByHand: args.options.has('pair-by-hand'),
      log: (l) => ctx.stderr.write(`${l}\n`),
    });
    const page = await startPageServer(
      { alice: world.devices.alice.screen, bob: world.devices.bob.screen },
      sizeOption(args, 'port', 0),
    );
    try {
      out('onepad simulator: two simulated devices, INSECURE (seeded entropy), on loopback only');
      if (world.paired) out(`paired alice and bob: pad ${world.paired.padId}, fingerprint ${world.paired.fingerprint}`);
      out(`  page (both screens, tap and hold them): ${page.url}`);
      out(`  alice's device: ${world.devices.alice.url}`);
      out(`  bob's device:   ${world.devices.bob.url}`);
      if (isSmoke) return await smoke(world, out);
      out('stop with Ctrl-C');
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      return 0;
    } finally {
      await page.close();
      await world.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  },
};

export const simulatorCommands: CommandGroup = { name: '', topLevel: true, commands: [simulate] };
