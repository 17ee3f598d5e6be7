/**
 * Where the health gate's CPU goes: each of its seven WebAssembly tests fed alone (staged input, as the gate feeds
 * them), the gate's own work (staging, holdback copies), for H = 4 and 8. Run directly:
 * `node --import tsx bench/hrng-parts.ts`.
 */
import { randomBytes } from 'node:crypto';
import { HealthGate } from '../hrng/gate.js';
import {
  KernelApt,
  KernelCollision,
  KernelFipsRate,
  KernelMcv,
  KernelPeriodic,
  KernelRct,
  KernelRepeat,
  STAGE_HISTORY,
  type StagedTest,
} from '../hrng/gate-kernels.js';
import { KernelMemory, STAGE_BYTES, Stage } from '../hrng/kernels.js';

const MB = 1e6;
const N = 64 << 20;

function cpu(run: () => void): number {
  const c = process.cpuUsage();
  run();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1e6;
}

const data = new Uint8Array(randomBytes(N));
for (const h of [4, 8]) {
  const mem = new KernelMemory();
  const stage = new Stage(mem, STAGE_BYTES, STAGE_HISTORY);
  const tests: [string, StagedTest][] = [
    ['rct', new KernelRct(mem, 60, h)],
    ['apt', new KernelApt(mem, 60, h)],
    ['periodic', new KernelPeriodic(mem, 30, h)],
    ['repeat', new KernelRepeat(mem)],
    ['mcv', new KernelMcv(mem, 30, h)],
    ['collision', new KernelCollision(mem, 30, h)],
    ['fips-rate', new KernelFipsRate(mem, 30)],
  ];
  const stageS = cpu(() => {
    for (let o = 0; o < N; o += STAGE_BYTES) stage.put(data.subarray(o, o + STAGE_BYTES));
  });
  let total = stageS;
  const line = [`H=${h}: stage copy ${((stageS / N) * MB * 1000).toFixed(2)} ms/MB`];
  for (const [name, t] of tests) {
    t.reset();
    const s = cpu(() => {
      for (let o = 0; o < N; o += STAGE_BYTES) {
        const p = stage.put(data.subarray(o, o + STAGE_BYTES));
        if (t.feedStaged(p, STAGE_BYTES) >= 0) throw new Error(`${name} failed on good data`);
      }
    });
    const own = s - stageS;
    total += own;
    line.push(`${name} ${((own / N) * MB * 1000).toFixed(2)}`);
  }
  line.push(`sum ${((total / N) * MB * 1000).toFixed(2)} ms/MB`);
  const gate = new HealthGate({ alphaLog2: 30, h });
  const g = cpu(() => {
    for (let o = 0; o < N; o += 65536) gate.push(data.subarray(o, o + 65536));
  });
  line.push(`whole gate (64 KiB pushes) ${((g / N) * MB * 1000).toFixed(2)} ms/MB`);
  console.log(line.join(', '));
}
