/**
 * Good data over at least 1 GB: node:crypto randomBytes through two full health gates (all tests, default
 * holdback and 64 MiB repeated-block history), one claiming H = 8 (the tightest cutoffs) and one H = 4 (the
 * TrueRNG profile). Prints every test's counters; exit 1 if any test tripped. Too long for the normal suite.
 *
 * Usage: npm run test:hrng-1g [-- GiB [H,H...]]   (default 1 GiB, H = 8,4; one H per process uses both cores)
 */
import { randomBytes } from 'node:crypto';
import { HealthGate } from '../../hrng/gate.js';

const gib = Number(process.argv[2] ?? 1);
const total = Math.round(gib * 2 ** 30);
const hs = (process.argv[3] ?? '8,4').split(',').map(Number);
const gates = hs.map((h) => ({ h, gate: new HealthGate({ alphaLog2: 30, h }) }));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const chunk = 4 << 20;
let done = 0;
let failed = false;
while (done < total && !failed) {
  const bytes = randomBytes(Math.min(chunk, total - done));
  for (const { h, gate } of gates) {
    const r = gate.push(bytes);
    if (r.failure) {
      failed = true;
      process.stdout.write(`H=${h}: FAILED ${JSON.stringify(r.failure)}\n`);
    }
  }
  done += bytes.length;
  if (done % (128 << 20) === 0) process.stdout.write(`${(done / 2 ** 30).toFixed(3)} GiB\n`);
}
const cpu = process.cpuUsage(cpu0);
for (const { h, gate } of gates) process.stdout.write(`H=${h}: ${JSON.stringify(gate.counters())}\n`);
process.stdout.write(
  `${failed ? 'FAIL' : 'PASS'}: ${done} bytes (${(done / 1e9).toFixed(3)} GB) of randomBytes through ${gates.length} gates, ` +
    `${((performance.now() - t0) / 1000).toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s CPU\n`,
);
process.exit(failed ? 1 : 0);
