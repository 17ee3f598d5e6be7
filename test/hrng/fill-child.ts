/**
 * Child process for the crash test: fills the pool in `dataDir` from a simulated source with `seed` until
 * killed (or full), printing "progress <poolBytes>" after each append.
 * Usage: node --import tsx test/hrng/fill-child.ts <dataDir> <seed> <poolMax> <chunkBytes>
 */
import { prepareDataDir } from '../../device/data-dir.js';
import { openLedgerDb } from '../../device/ledger/open.js';
import { Filler } from '../../hrng/filler.js';
import { EntropyPool } from '../../hrng/pool.js';
import { SimSource } from '../../hrng/sim-source.js';

const [dataDir, seed, poolMax, chunk] = process.argv.slice(2);
const layout = prepareDataDir(dataDir as string);
const db = openLedgerDb(layout.ledger);
const pool = EntropyPool.open({ db, path: layout.pool, maxBytes: Number(poolMax) });
const filler = new Filler({
  sources: [new SimSource({ seed: seed as string, chunk: 1500 })],
  pool,
  chunkBytes: Number(chunk),
});
const r = await filler.run({
  onProgress: (p) => {
    process.stdout.write(`progress ${p.poolBytes}\n`);
  },
});
process.stdout.write(`done ${r.state}\n`);
pool.close();
db.close();
