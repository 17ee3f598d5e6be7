/**
 * Runs `onepad device` (device/service/device-command.ts, without a screen factory) or one rpc/cli.ts command as a
 * process, as device/service/main.ts does: `node --import tsx cli-child.ts <command> [args]`. SIGTERM and SIGINT
 * abort the command's signal.
 */
import { deviceCommand } from '../../device/service/device-command.js';
import { rpcCommands } from '../../rpc/cli.js';

const [name, ...argv] = process.argv.slice(2);
const command = [deviceCommand(), ...rpcCommands.commands].find((c) => c.name === name);
if (!command) {
  process.stderr.write(`no command ${name}\n`);
  process.exit(2);
}
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort());
process.on('SIGINT', () => ac.abort());
process.exitCode = await command.run({ argv, stdout: process.stdout, stderr: process.stderr, signal: ac.signal });
