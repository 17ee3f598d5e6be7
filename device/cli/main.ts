#!/usr/bin/env node
import { chatCommands } from '../../client/cli.js';
import { simulatorCommands } from '../../client/simulator/cli.js';
import { hrngCommands } from '../../hrng/cli.js';
/**
 * The `onepad` command: dispatches `onepad <group> <command> [args]`, or `onepad <command>` for top-level groups.
 * Errors print their stable code and fixed message (never secrets) and exit 2; usage errors exit 64.
 */
import { pairingCommands } from '../../provisioning/cli.js';
import { rpcCommandGroup } from '../../rpc/cli.js';
import { OnepadError } from '../errors.js';
import { openHostedScreen } from '../screen-factory.js';
import type { Command, CommandGroup } from './command.js';
import { demoCommand } from './demo.js';
import { offlineCommands, padCommands } from './pad-commands.js';

const GROUPS: readonly CommandGroup[] = [
  { name: '', topLevel: true, commands: [demoCommand] },
  rpcCommandGroup(openHostedScreen),
  pairingCommands,
  simulatorCommands,
  chatCommands,
  hrngCommands,
  padCommands,
  offlineCommands,
];

function usage(): string {
  const lines = ['usage: onepad <command> [options]', ''];
  for (const g of GROUPS) for (const c of g.commands) lines.push(`  onepad ${c.usage}`);
  return `${lines.join('\n')}\n`;
}

function find(argv: readonly string[]): { command: Command; rest: readonly string[] } | null {
  const [first, second] = argv;
  for (const g of GROUPS) {
    if (g.topLevel) {
      const c = g.commands.find((x) => x.name === first);
      if (c) return { command: c, rest: argv.slice(1) };
    } else if (g.name === first) {
      const c = g.commands.find((x) => x.name === second);
      if (c) return { command: c, rest: argv.slice(2) };
    }
  }
  return null;
}

/** Run the CLI with `argv` (without node and script). Resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const found = find(argv);
  if (!found) {
    process.stderr.write(usage());
    return argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' ? 0 : 64;
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await found.command.run({
      argv: found.rest,
      stdout: process.stdout,
      stderr: process.stderr,
      signal: ac.signal,
    });
  } catch (e) {
    if (e instanceof OnepadError) {
      process.stderr.write(`onepad: ${e.code}: ${e.message}\n`);
      return e.code === 'INVALID_ARGUMENT' ? 64 : 2;
    }
    throw e;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

process.exitCode = await main(process.argv.slice(2));
