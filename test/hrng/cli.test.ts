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
    const r = await run('test', ['--source', 'sim:cli', '--seconds', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/INSECURE/);
    expect(r.out).toMatch(/cutoffs: RCT 5 repeats, APT 16 of 512/);
    expect(r.out).toMatch(/read \d+ bytes in 1\.\d s: [\d.]+ (MiB|KiB)\/s/);
    expect(r.out).toMatch(/start-up test \(1024 samples\): pass/);
    expect(r.out).toMatch(/repetition count test: pass/);
    expect(r.out).toMatch(/adaptive proportion test: pass/);
    // FIPS block tests have false positives of their own (the long-run test about 1 block in 3000).
    const fips = /FIPS 140-2 \(monitor\): (\d+) blocks, (\d+) failed/.exec(r.out);
    expect(Number(fips?.[1])).toBeGreaterThan(10);
    expect(Number(fips?.[2])).toBeLessThan(Number(fips?.[1]) / 100);
    expect(r.out).toMatch(/verdict: HEALTHY/);
  });

  it('reports a failing source with exit code 1', async () => {
    const file = join(dir, 'zeros.bin');
    writeFileSync(file, new Uint8Array(8192));
    const r = await run('test', ['--source', `hwrng:${file}`, '--seconds', '1']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/start-up test \(1024 samples\): FAIL/);
    expect(r.out).toMatch(/repetition count test: FAIL at sample 8/);
    expect(r.out).toMatch(/verdict: FAILED/);
  });

  it('tests a TrueRNG through a pty with the real binding', async () => {
    const pty = await startPty(20);
    try {
      const feeding = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        await pty.write(new SimStream('cli-pty').next(20_000));
      })();
      const r = await run('test', ['--source', `truerng:${pty.path}`, '--seconds', '1']);
      await feeding;
      expect(r.out).toMatch(/"dtr":"unsupported"/);
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
      },
      8,
    );
    expect(line).toBe('[##------]  25.0%  1.0 MiB / 4.0 MiB  50.0 KiB/s  full in 1m02s');
  });
});
