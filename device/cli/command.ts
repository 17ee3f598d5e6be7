/**
 * The shape of a CLI command group. Each area exports one group from its own cli module (hrng/cli.ts,
 * rpc/cli.ts, ...) and device/service/main.ts dispatches `onepad <group> <command> [args]` (or a top-level
 * `onepad <command>` for groups with `topLevel: true`) to it.
 */
import type { Writable } from 'node:stream';
import type { OptionSpecs } from './args.js';

/** What a command gets: its arguments after the command name, and where to write. */
export interface CommandContext {
  readonly argv: readonly string[];
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
}

/** One command. Resolves with the process exit code. */
export interface Command {
  readonly name: string;
  /** One line of usage, shown by `onepad help`: the synopsis, three spaces, what it does. */
  readonly usage: string;
  /** Every option it accepts; its `--help` lists them, and its run() parses `argv` against them. */
  readonly options: OptionSpecs;
  /** One example command line, without the leading `onepad`, shown by its `--help`. */
  readonly example: string;
  run(ctx: CommandContext): Promise<number>;
}

/** A named group of commands. */
export interface CommandGroup {
  /** `onepad <name> <command>`; for top-level groups the commands are `onepad <command>`. */
  readonly name: string;
  readonly topLevel?: boolean;
  readonly commands: readonly Command[];
}
