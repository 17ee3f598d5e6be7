#!/usr/bin/env node
import { runCli } from '../cli/dispatch.js';
/**
 * The `onepad` command: dispatches `onepad <group> <command> [args]`, or `onepad <command>` for top-level groups
 * (device/cli/dispatch.ts), over the groups of device/service/commands.ts. `onepad <command> --help` shows the
 * command's options and an example. Errors print their stable code and fixed message (never secrets) and exit 2;
 * usage errors exit 64.
 */
import { startupStep } from '../sd-notify.js';
import { GROUPS } from './commands.js';

/** Run the CLI with `argv` (without node and script). Resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // Under systemd (the service's preload), the code is loaded: the next steps each get a fresh start-up budget.
  startupStep('code loaded');
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await runCli(GROUPS, argv, { stdout: process.stdout, stderr: process.stderr, signal: ac.signal });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

process.exitCode = await main(process.argv.slice(2));
