/**
 * Runs one command of client/cli.ts's group as `onepad` would: `node --import tsx test/client/cli-child.ts
 * relay|chat [args]`, with process stdin/stdout and SIGTERM/SIGINT as the abort signal.
 */
import { chatCommands } from '../../client/cli.js';

const [name, ...argv] = process.argv.slice(2);
const command = chatCommands.commands.find((c) => c.name === name);
if (!command) {
  process.stderr.write('usage: cli-child.ts relay|chat [args]\n');
  process.exit(64);
}
const ac = new AbortController();
process.once('SIGTERM', () => ac.abort());
process.once('SIGINT', () => ac.abort());
process.exitCode = await command.run({ argv, stdout: process.stdout, stderr: process.stderr, signal: ac.signal });
