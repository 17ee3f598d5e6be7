/**
 * Child process of the pipe-session crash tests: `node --import tsx test/pipe/session-crash-child.ts <dataDir>
 * <crash-point|random> <n>`. Opens a session to bob (auto-approved: a simulated device) with small chunks, prints
 * `ready`, then packages requests of 1-3 frames forever, printing each package's hex as soon as its request
 * returns. With a crash point it SIGKILLs itself the n-th time the point is reached; with `random` the parent
 * kills it at a moment of its choosing.
 */

import { parseConfig } from '../../device/config/config.js';
import { autoApprove } from '../../device/confirm.js';
import { DeviceEngine, type SessionCrashPoint } from '../../device/engine.js';
import { isOnepadError } from '../../device/errors.js';
import { writeLine } from '../helpers/line-out.js';

const [dataDir, point, nth] = process.argv.slice(2);
const config = parseConfig({ dataDir, device: { name: 'crash', simulated: true } });
let seen = 0;
const engine = DeviceEngine.open({
  config,
  confirmer: autoApprove,
  sessionLimits: { maxChunkSlots: 16, maxChunkStream: 2048 },
  sessionCrashHook: (p: SessionCrashPoint) => {
    if (p === point && ++seen === Number(nth)) process.kill(process.pid, 'SIGKILL');
  },
});
const out = writeLine;
// The budget stays well below the pad (the tests' pads are 1 and 4 MiB), so a child that is killed late on a loaded
// machine ends its session at the budget, not at the pad's end, and the parent's check still finds pad for a fresh
// session after the restart. Once the budget is spent the child waits to be killed.
const s = await engine.openSession('bob', { budgetBytes: 1_000_000, timeLimitSec: 600, frameSize: null });
out('ready');
try {
  for (let i = 0; ; i++) {
    const frames = Array.from({ length: 1 + (i % 3) }, (_, j) => new Uint8Array(1 + ((i * 7 + j * 13) % 90)).fill(i));
    const r = engine.sessionPackage(s.id, frames);
    for (const p of r.packages) out(Buffer.from(p).toString('hex'));
  }
} catch (e) {
  if (!isOnepadError(e) || e.code !== 'SESSION_ENDED' || e.details?.reason !== 'budget') throw e;
  setInterval(() => {}, 60_000);
}
