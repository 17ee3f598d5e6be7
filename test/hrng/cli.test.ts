import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { autoDetect } from '@serialport/bindings-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDirLayout, prepareDataDir } from '../../device/data-dir.js';
import { openLedgerDb } from '../../device/ledger/open.js';
import { createHrngCommands, progressLine } from '../../hrng/cli.js';
import { EntropyPool } from '../../hrng/pool.js';
import { SimStream } from '../../hrng/sim-source.js';
import { startPty } from './pty.js';

const dir = mkdtempSync(join(tmpdir(), 'onepad-hrng-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const group = createHrngCommands({ binding: async () => autoDetect() });

async function run(name: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  const cmd = group.commands.find((c) => c.name === name);
  if (!cmd) throw new Error(`no command ${name}`);
  const code = await cmd.run({
    argv,
    stdout: sink((s) => {
      out += s;
    }),
    stderr: sink((s) => {
      err += s;
    }),
    signal: new AbortController().signal,
  });
  return { code, out, err };
}

describe('onepad hrng test', () => {
  it('prints the rate and every verdict for a healthy simulated source', async () => {
    // --bytes ends the test at a holdback and a half, so a busy machine cannot make it inconclusive.
    const r = await run('test', ['--source', 'sim:cli', '--seconds', '60', '--bytes', '1536k']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/INSECURE/);
    expect(r.out).toMatch(/cutoffs: RCT 9 repeats, APT 25 of 512/);
    expect(r.out).toMatch(/read 1572864 bytes in \d+\.\d s: [\d.]+ (MiB|KiB)\/s/);
    expect(r.out).toMatch(/rate: not watched/);
    for (const test of [
      'repetition count test',
      'adaptive proportion test',
      'periodic structure',
      'repeated 64-byte block',
      'most common value',
      'collision',
      'FIPS 140-2 failure rate',
    ]) {
      expect(r.out).toMatch(new RegExp(`${test}[^:]*: pass`));
    }
    // Each statistic stays below the cutoff it is compared with when the test passes.
    const apt = /highest count (\d+) of 512, fails at (\d+)/.exec(r.out);
    expect(Number(apt?.[1])).toBeLessThan(Number(apt?.[2]));
    const fips =
      /FIPS 140-2 failure rate: pass \(at most (\d+) failed of the last 128 blocks, fails at 12; (\d+) blocks/.exec(
        r.out,
      );
    expect(Number(fips?.[1])).toBeLessThan(12);
    expect(Number(fips?.[2])).toBeGreaterThan(400);
    expect(r.out).toMatch(/verdict: HEALTHY/);
  });

  it('reports a failing source with exit code 1', async () => {
    const file = join(dir, 'zeros.bin');
    writeFileSync(file, new Uint8Array(8192));
    const r = await run('test', ['--source', `hwrng:${file}`, '--seconds', '1']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/repetition count test: FAIL at sample 15 \(longest run 16, fails at 16\)/);
    expect(r.out).toMatch(/verdict: FAILED \(rct\)/);
  });

  it('a few good bytes are not called healthy: the tests need a holdback of bytes', async () => {
    const pty = await startPty(20);
    try {
      const feeding = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        await pty.write(new SimStream('cli-pty-short').next(20_000));
      })();
      const r = await run('test', ['--source', `truerng:${pty.path}`, '--seconds', '1']);
      await feeding;
      expect(r.out).toMatch(/most common value[^:]*: not reached/);
      expect(r.out).toMatch(/verdict: INCONCLUSIVE/);
      expect(r.code).toBe(1);
    } finally {
      pty.kill();
    }
  });

  it('a TrueRNG at about 1 KB/s is judged too slow, whatever its bytes', async () => {
    const pty = await startPty(20);
    try {
      let stop = false;
      const feeding = (async () => {
        const s = new SimStream('cli-pty-slow');
        while (!stop) {
          await pty.write(s.next(100));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const r = await run('test', ['--source', `truerng:${pty.path}`, '--seconds', '2']);
      stop = true;
      await feeding;
      expect(r.out).toMatch(/rate: FAIL \([\d.]+ (B|KiB)\/s, minimum 4\.9 KiB\/s\)/);
      expect(r.out).toMatch(/verdict: TOO SLOW/);
      expect(r.code).toBe(1);
    } finally {
      pty.kill();
    }
  });

  it('tests a TrueRNG through a pty with the real binding', async () => {
    const pty = await startPty(30);
    try {
      const feeding = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        await pty.write(new SimStream('cli-pty').next(1536 * 1024));
      })();
      const r = await run('test', ['--source', `truerng:${pty.path}`, '--seconds', '30', '--bytes', '1536k']);
      await feeding;
      expect(r.out).toMatch(/"dtr":"unsupported"/);
      expect(r.out).toMatch(/rate: pass/);
      expect(r.out).toMatch(/verdict: HEALTHY/);
      expect(r.code).toBe(0);
    } finally {
      pty.kill();
    }
  });

  it('rejects an unknown source spec with INVALID_ARGUMENT', async () => {
    await expect(run('test', ['--source', 'dice', '--seconds', '1'])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('onepad hrng fill', () => {
  it('fills in the foreground with a progress bar', async () => {
    const dataDir = join(dir, 'fill');
    const r = await run('fill', ['--data-dir', dataDir, '--sim', '--bytes', '64k']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[#*-+\] +0\.4% +64\.0 KiB \/ 16\.0 MiB/);
    expect(r.out).toMatch(/INSECURE/);
    expect(r.out).toMatch(/\| sim-hwrng ok fips \d+\/12 H~\d\.\d/);
    expect(r.out).toMatch(/appended 65536 bytes; pool holds 65536 bytes/);
  });

  it('refuses while a failure is latched and runs after --resume', async () => {
    const dataDir = join(dir, 'latched');
    const layout = prepareDataDir(dataDir);
    const db = openLedgerDb(layout.ledger);
    const pool = EntropyPool.open({ db, path: dataDirLayout(dataDir).pool, maxBytes: 1 << 24 });
    pool.setLatch('HRNG_HEALTH_FAILED:truerng');
    pool.close();
    db.close();
    await expect(run('fill', ['--data-dir', dataDir, '--sim', '--bytes', '4k'])).rejects.toMatchObject({
      code: 'HRNG_HEALTH_FAILED',
    });
    const r = await run('fill', ['--data-dir', dataDir, '--sim', '--bytes', '4k', '--resume']);
    expect(r.out).toMatch(/resuming \(was: HRNG_HEALTH_FAILED:truerng\)/);
    expect(r.code).toBe(0);
  });

  it('progressLine shows bytes, rate and time to full', () => {
    const line = progressLine(
      {
        state: 'running',
        poolBytes: 1 << 20,
        capacity: 4 << 20,
        appended: 1 << 20,
        bytesPerSecond: 51200,
        secondsToFull: 61.4,
        insecure: false,
        sources: [],
        combined: { gate: null, claimedH: 4, extractor: null },
      },
      8,
    );
    expect(line).toBe('[##------]  25.0%  1.0 MiB / 4.0 MiB  50.0 KiB/s  full in 1m02s');
  });
});

describe('onepad hrng status', () => {
  it('prints the pool, the latch and its reason, and every test of the last fill; --json too', async () => {
    const dataDir = join(dir, 'status');
    const zeros = join(dir, 'zeros-status.bin');
    writeFileSync(zeros, new Uint8Array(1 << 16));
    const good = await run('fill', ['--data-dir', dataDir, '--sim', '--bytes', '32k']);
    expect(good.code).toBe(0);
    let r = await run('status', ['--data-dir', dataDir]);
    expect(r.out).toMatch(/pool: capacity 16777216, filled 32768, consumed 0, held 32768 \(INSECURE/);
    expect(r.out).toMatch(/latch: none/);
    expect(r.out).toMatch(
      /extractor seed: present; Toeplitz 128 -> 112 bytes per block \(k = 1024 bits, epsilon = 2\^-64\)/,
    );
    expect(r.out).toMatch(/source sim-hwrng \(simulated, H = 8\), \d+ raw bytes: gate running/);
    expect(r.out).toMatch(/ {2}most common value \(window 65536\): pass/);
    // A failing source: the latch names it and the test.
    const cfg = join(dir, 'status.json');
    writeFileSync(cfg, JSON.stringify({ dataDir, hrng: { sources: [{ kind: 'hwrng', name: 'zeros', path: zeros }] } }));
    const bad = await run('fill', ['--config', cfg]);
    expect(bad.code).toBe(1);
    r = await run('status', ['--data-dir', dataDir]);
    expect(r.out).toMatch(/latch: HRNG_HEALTH_FAILED \(source zeros, rct\)/);
    expect(r.out).toMatch(/last fill: \S+ failed: HRNG_HEALTH_FAILED/);
    expect(r.out).toMatch(/ {2}repetition count test: FAIL at sample 15/);
    const j = JSON.parse((await run('status', ['--data-dir', dataDir, '--json'])).out);
    expect(j.pool).toMatchObject({ capacity: 16777216, filled: 32768, consumed: 0, held: 32768 });
    expect(j.latch).toEqual({ code: 'HRNG_HEALTH_FAILED', source: 'zeros', test: 'rct' });
    expect(j.seed).toBe('present');
    expect(j.lastFill.sources[0].tests.rct).toMatchObject({ failed: true });
  });

  it('refuses a data dir without a ledger', async () => {
    await expect(run('status', ['--data-dir', join(dir, 'nothing-here')])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
