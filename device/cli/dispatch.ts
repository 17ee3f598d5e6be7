/**
 * Dispatch of `onepad <group> <command> [args]` (or `onepad <command>` for top-level groups) over the command
 * groups it is given, each command's `--help`, and the printing of errors. The groups themselves are chosen by
 * the composition root, which passes them in.
 */
import type { Writable } from 'node:stream';
import { OnepadError } from '../errors.js';
import type { Command, CommandGroup } from './command.js';

/** Where the CLI writes, and the signal that stops a running command. */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly signal: AbortSignal;
}

/** A command with the words that name it (`['pad', 'list']`, or `['device']` for a top-level one). */
export interface FoundCommand {
  readonly words: readonly string[];
  readonly command: Command;
}

/** Every command of `groups`, with the words that name it, in `onepad help` order. */
export function allCommands(groups: readonly CommandGroup[]): FoundCommand[] {
  return groups.flatMap((g) =>
    g.commands.map((command) => ({ words: g.topLevel ? [command.name] : [g.name, command.name], command })),
  );
}

function find(groups: readonly CommandGroup[], argv: readonly string[]): FoundCommand | null {
  const [first, second] = argv;
  for (const g of groups) {
    if (g.topLevel) {
      const c = g.commands.find((x) => x.name === first);
      if (c) return { words: [c.name], command: c };
    } else if (g.name === first) {
      const c = g.commands.find((x) => x.name === second);
      if (c) return { words: [g.name, c.name], command: c };
    }
  }
  return null;
}

/** `onepad help`: one usage line per command. */
export function usage(groups: readonly CommandGroup[]): string {
  const lines = ['usage: onepad <command> [options]', '       onepad <command> --help   options and an example', ''];
  for (const { command } of allCommands(groups)) lines.push(`  onepad ${command.usage}`);
  return `${lines.join('\n')}\n`;
}

/** The `--help` text of one command: its usage, every option with its value and meaning, and an example. */
export function commandHelp(c: Command): string {
  const [synopsis, ...what] = c.usage.split(/ {3,}/);
  const rows = Object.entries(c.options).map(([name, o]) => {
    const left = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return [left, o.help] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length));
  const lines = [`usage: onepad ${synopsis}`];
  if (what.length > 0) lines.push('', what.join('   '));
  lines.push('', 'options:', ...rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`));
  lines.push('', 'example:', `  onepad ${c.example}`);
  return `${lines.join('\n')}\n`;
}

/** True when `argv` asks for help (`--help` or `-h` before any `--`). */
function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Run the CLI with `argv` (without node and script) over `groups`. Resolves with the exit code: 0 for help,
 * 64 for an unknown command or a usage error (INVALID_ARGUMENT), 2 for any other OnepadError, which prints
 * its stable code and fixed message (never secrets).
 */
export async function runCli(groups: readonly CommandGroup[], argv: readonly string[], io: CliIo): Promise<number> {
  const found = find(groups, argv);
  if (!found) {
    io.stderr.write(usage(groups));
    return argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h' ? 0 : 64;
  }
  const rest = argv.slice(found.words.length);
  if (wantsHelp(rest)) {
    io.stdout.write(commandHelp(found.command));
    return 0;
  }
  try {
    return await found.command.run({ argv: rest, stdout: io.stdout, stderr: io.stderr, signal: io.signal });
  } catch (e) {
    if (e instanceof OnepadError) {
      io.stderr.write(`onepad: ${e.code}: ${e.message}\n`);
      return e.code === 'INVALID_ARGUMENT' ? 64 : 2;
    }
    throw e;
  }
}
