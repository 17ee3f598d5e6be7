/**
 * `onepad simulate [--dir DIR] [--fresh] [--port N] [--pair-by-hand] [--smoke]`: the simulated world with its page.
 * `npm start` runs it. `--smoke` (or ONEPAD_SMOKE=1) starts everything in a temporary dir, sends one message from
 * alice to bob through alice's screen (holding Approve as a person would), checks bob reads it, and exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatClient } from '../../../client/chat.js';
import { LinkClient } from '../../../rpc/client.js';
import { flag, type OptionSpecs, option, parseArgs, sizeOption, stringOption } from '../../cli/args.js';
import type { Command, CommandGroup } from '../../cli/command.js';
import { type PageServer, startPageServer } from './page-server.js';
import { holdUntilActed, waitForScreen } from './touch.js';
import { startWorld, type World } from './world.js';

/** The chat command that opens a chat as `name` in this world. */
export function chatCommandFor(world: World, name: 'alice' | 'bob'): string {
  return `npx onepad chat --name ${name} --device ${world.devices[name].url} --relay ${world.relay.url} --state ${join(world.dir, `${name}-chat.json`)}`;
}

async function smoke(world: World, out: (s: string) => void): Promise<number> {
  const alice = world.devices.alice;
  const chat = (name: 'alice' | 'bob') =>
    new ChatClient({
      name,
      device: new LinkClient({ url: world.devices[name].url }),
      relayUrl: world.relay.url,
      statePath: join(world.dir, `${name}-chat.json`),
    });
  const text = 'smoke test: hello bob';
  const sending = chat('alice').send('bob', text);
  const shown = await waitForScreen(alice.screen, 'confirm-encrypt');
  if (!shown.includes('bob') || !shown.includes(text)) throw new Error('the confirm screen does not show the request');
  await holdUntilActed(alice.screen, 'approve');
  const sent = await sending;
  if (!sent.some((e) => e.type === 'sent')) throw new Error(`alice's client did not send: ${JSON.stringify(sent)}`);
  const got = await chat('bob').receive();
  const msg = got.find((e) => e.type === 'message');
  if (!msg || !('text' in msg) || msg.text !== text)
    throw new Error(`bob did not read what alice sent: ${JSON.stringify(got)}`);
  out(`smoke: alice's chat -> her device (approved on its screen) -> relay -> bob's chat and device: "${msg.text}"`);
  return 0;
}

const SIMULATE_OPTIONS = {
  dir: option('DIR', 'where the simulated data dirs live (default .onepad-sim)'),
  fresh: flag('start over: remove the simulated data dirs first'),
  port: option('N', 'serve the page on this port (default: any free port)'),
  'pair-by-hand': flag('do not pair at start: compare the fingerprints and hold Match on the page'),
  smoke: flag('run one message end to end in a temporary dir and exit (also ONEPAD_SMOKE=1)'),
} satisfies OptionSpecs;

const simulate: Command = {
  name: 'simulate',
  usage:
    'simulate [--dir DIR] [--fresh] [--port N] [--pair-by-hand] [--smoke]   two simulated devices, paired, with a page showing their screens',
  options: SIMULATE_OPTIONS,
  example: 'simulate --fresh --port 8080',
  async run(ctx) {
    const args = parseArgs(ctx.argv, SIMULATE_OPTIONS);
    const out = (s: string) => ctx.stdout.write(`${s}\n`);
    const isSmoke = args.options.has('smoke') || process.env.ONEPAD_SMOKE === '1';
    const tmp = isSmoke ? mkdtempSync(join(tmpdir(), 'onepad-smoke-')) : null;
    const pairByHand = args.options.has('pair-by-hand');
    // The page starts with the screens, before pairing: pairing by hand waits for Match and names on it.
    let page: PageServer | null = null;
    let world: World;
    try {
      world = await startWorld({
        dir: tmp ?? stringOption(args, 'dir', '.onepad-sim'),
        fresh: args.options.has('fresh'),
        pairByHand,
        log: (l) => ctx.stderr.write(`${l}\n`),
        signal: ctx.signal,
        onScreens: async (screens) => {
          page = await startPageServer({ alice: screens.alice, bob: screens.bob }, sizeOption(args, 'port', 0));
          out(`  page (both screens, tap and hold them): ${page.url}`);
          if (pairByHand) out('pair by hand on the page: compare, hold Match, and name the other on each screen');
        },
      });
    } catch (e) {
      await (page as PageServer | null)?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      // Stopped (SIGTERM, Ctrl-C) before the world was up: a clean stop, nothing left running.
      if (ctx.signal.aborted) return 0;
      throw e;
    }
    try {
      out('onepad simulator: two simulated devices, INSECURE (seeded entropy), on loopback only');
      if (world.paired) out(`paired alice and bob: pad ${world.paired.padId}, fingerprint ${world.paired.fingerprint}`);
      out(`  alice's device: ${world.devices.alice.url}`);
      out(`  bob's device:   ${world.devices.bob.url}`);
      out(`  relay:          ${world.relay.url}`);
      out('open a chat as alice and as bob, each in its own terminal:');
      out(`  ${chatCommandFor(world, 'alice')}`);
      out(`  ${chatCommandFor(world, 'bob')}`);
      if (isSmoke) return await smoke(world, out);
      out('stop with Ctrl-C');
      if (!ctx.signal.aborted)
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      return 0;
    } finally {
      await (page as PageServer | null)?.close();
      await world.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  },
};

export const simulatorCommands: CommandGroup = { name: '', topLevel: true, commands: [simulate] };
