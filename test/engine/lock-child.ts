/**
 * Child process for the data dir lock tests: `node --import tsx test/engine/lock-child.ts <mode> <dataDir> [n] [pauseMs]`.
 *   send <dir> <n> <pauseMs> [holdFile]
 *                              open an engine, print "ready", package n messages "lock test <i>" to bob, pausing
 *                              pauseMs right after each reservation (the window in which a second opener's recovery
 *                              used to burn the reserved bytes), print each package hex; then, with holdFile, keep
 *                              the engine open until that file exists (at most 120 s)
 *   open <dir>                 open an engine and close it
 *   list <dir>                 run `onepad pad list` (read-only inspection)
 * Prints BUSY and exits 3 on DATA_DIR_BUSY; any other error is printed as ERR <code or message> and exits 1.
 */
import { existsSync } from 'node:fs';
import { padCommands } from '../../device/cli/pad-commands.js';
import { parseConfig } from '../../device/config/config.js';
import { autoApprove } from '../../device/confirm.js';
import { DeviceEngine } from '../../device/engine.js';
import { isOnepadError } from '../../device/errors.js';
import { writeLine } from '../helpers/line-out.js';

const [mode, dataDir, nArg, pauseArg, holdFile] = process.argv.slice(2);
const out = writeLine;
const pause = Number(pauseArg ?? 0);
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

try {
  if (mode === 'list') {
    const list = padCommands.commands.find((c) => c.name === 'list');
    const lines: string[] = [];
    await list?.run({
      argv: ['--dir', dataDir as string],
      stdout: { write: (s: string) => lines.push(s) },
      stderr: process.stderr,
    } as never);
    out(`LISTED ${lines.length}`);
  } else {
    const engine = DeviceEngine.open({
      config: parseConfig({ dataDir, device: { name: 'lock', simulated: true } }),
      confirmer: autoApprove,
      crashHook: (p) => {
        if (p === 'after-reserve' && pause > 0) sleepSync(pause);
      },
    });
    if (mode === 'send') {
      out('ready');
      for (let i = 0; i < Number(nArg); i++) {
        const r = await engine.package('bob', new TextEncoder().encode(`lock test ${i}`));
        out(Buffer.from(r.package).toString('hex'));
      }
      const until = Date.now() + 120_000;
      while (holdFile && !existsSync(holdFile) && Date.now() < until) sleepSync(50);
    } else {
      out('OPENED');
    }
    engine.close();
  }
} catch (e) {
  if (isOnepadError(e, 'DATA_DIR_BUSY')) {
    out('BUSY');
    process.exit(3);
  }
  out(`ERR ${isOnepadError(e) ? e.code : (e as Error).message}`);
  process.exit(1);
}
