/**
 * Child process for crash tests: `node --import tsx test/engine/crash-child.ts <mode> <dataDir> [arg]`.
 *   package <dir> <crash-point|none>        package "crash test" to bob, print the package hex
 *   unpackage <dir> <crash-point> <hex>     unpackage the given package
 *   loop <dir>                              package forever, printing each package hex as soon as it returns
 * At the named crash point the process SIGKILLs itself, like a power cut (no exit handlers run).
 */

import { parseConfig } from '../../device/config/config.js';
import { autoApprove } from '../../device/confirm.js';
import { type CrashPoint, DeviceEngine } from '../../device/engine.js';
import { writeLine } from '../helpers/line-out.js';

const [mode, dataDir, arg, hex] = process.argv.slice(2);
const config = parseConfig({ dataDir, device: { name: 'crash', simulated: true } });
const crashAt = arg as CrashPoint | 'none' | undefined;
const engine = DeviceEngine.open({
  config,
  confirmer: autoApprove,
  crashHook: (p) => {
    if (p === crashAt) process.kill(process.pid, 'SIGKILL');
  },
});
const out = writeLine;

if (mode === 'package') {
  const r = await engine.package('bob', new TextEncoder().encode('crash test'));
  out(Buffer.from(r.package).toString('hex'));
} else if (mode === 'unpackage') {
  const r = await engine.unpackage(Buffer.from(hex as string, 'hex'));
  out(new TextDecoder().decode(r.plaintext ?? new Uint8Array()));
} else if (mode === 'loop') {
  out('ready');
  for (let i = 0; ; i++) {
    const len = 1 + ((i * 37) % 120);
    const r = await engine.package('bob', new Uint8Array(len).fill(i & 0xff));
    out(Buffer.from(r.package).toString('hex'));
  }
}
engine.close();
