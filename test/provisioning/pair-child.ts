/**
 * A device process for pairing tests: `pair-child.ts <config.json> <initiator|responder> <fill-bytes> [size]`.
 * Fills its pool from the simulated HRNG source through the real filler (health tests and all), then pairs over
 * the link with --auto-approve semantics (it is a simulated device), and prints the result as JSON.
 */
import { loadConfig } from '../../device/config/config.js';
import { prepareDataDir } from '../../device/data-dir.js';
import { Ledger } from '../../device/ledger/ledger.js';
import { Filler } from '../../hrng/filler.js';
import { EntropyPool } from '../../hrng/pool.js';
import { SimSource } from '../../hrng/sim-source.js';
import { pairOverLink } from '../../provisioning/pair.js';

const [configPath, role, fill, size] = process.argv.slice(2);
const config = loadConfig(configPath as string);
const layout = prepareDataDir(config.dataDir);
if (Number(fill) > 0) {
  const ledger = Ledger.open(layout.ledger);
  const pool = EntropyPool.open({ db: ledger.db, path: layout.pool, maxBytes: config.hrng.poolMaxBytes });
  const filler = new Filler({ sources: [new SimSource({ seed: `${config.device.name}-pool` })], pool });
  const r = await filler.run({ bytes: Number(fill) });
  pool.close();
  ledger.close();
  if (r.state === 'failed') throw r.error;
}
process.stdout.write('filled\n');
try {
  const result = await pairOverLink({
    config,
    role: role as 'initiator' | 'responder',
    approver: { approvePairing: async () => 'approved' },
    size: size ? Number(size) : undefined,
    onProgress: (p) => {
      if (p.phase === 'transfer') process.stdout.write(`progress ${p.bytes}\n`);
    },
  });
  process.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: (e as { code?: string }).code ?? String(e) })}\n`);
  process.exitCode = 3;
}
