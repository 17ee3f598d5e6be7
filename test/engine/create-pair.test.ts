/**
 * `pad create-pair`: both copies written side by side from one generated chunk, both ledgers checked before a
 * byte is written, and a stop by SIGTERM (clean: CANCELLED) or SIGKILL (start-up recovery) leaves nothing usable.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { DeviceEngine } from '../../device/engine.js';
import { inspectDataDir } from '../../device/inspect.js';
import { Ledger } from '../../device/ledger/ledger.js';
import { listBurning } from '../../device/pad-burner.js';
import { padFilePath } from '../../device/pad-file.js';
import { createPadPair, createPadPairAsync } from '../../device/pad-pair.js';
import { fillSeeded, seededKey } from '../../device/seeded.js';
import { ScriptedConfirmer } from '../helpers/engine-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MIB = 1 << 20;
let root: string;
let a: string;
let b: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'onepad-cpair-'));
  a = join(root, 'a');
  b = join(root, 'b');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const padsOf = (d: string) => readdirSync(join(d, 'pads'));
function rows(dir: string) {
  const l = Ledger.open(join(dir, 'ledger.db'));
  try {
    return l.pads();
  } finally {
    l.close();
  }
}

function startCli(args: string[]): { child: ChildProcess; out: () => string; done: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'device/service/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, done };
}

async function until(f: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The 4 KiB of a pad's .tmp file that end at `end`. */
function tailOf(dir: string, id: string, end: number): Buffer {
  const fd = openSync(`${padFilePath(join(dir, 'pads'), id)}.tmp`, 'r');
  try {
    const buf = Buffer.alloc(4096);
    readSync(fd, buf, 0, 4096, end - 4096);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * Create a pair of `want.length` bytes from `source` and check, at each progress point, that the 4 KiB before it
 * is on disk in both `.tmp` copies (they are preallocated, so their sizes say nothing: one copy after the other
 * would leave B's zeros here), then that both pads equal `want`.
 */
async function createSideBySide(
  a: string,
  b: string,
  id: string,
  source: Parameters<typeof createPadPairAsync>[0]['source'],
  want: Uint8Array,
): Promise<void> {
  const size = want.length;
  let checked = 0;
  const { padId } = await createPadPairAsync({
    dirA: a,
    dirB: b,
    nameA: 'alice',
    nameB: 'bob',
    size,
    source,
    padId: id,
    onProgress: (p) => {
      if (p.bytes < 4096 || p.bytes >= size) return;
      const expected = Buffer.from(want.subarray(p.bytes - 4096, p.bytes));
      expect(tailOf(a, id, p.bytes).equals(expected)).toBe(true);
      expect(tailOf(b, id, p.bytes).equals(expected)).toBe(true);
      checked++;
    },
  });
  expect(checked).toBeGreaterThan(0);
  for (const d of [a, b]) {
    expect(Buffer.from(readFileSync(padFilePath(join(d, 'pads'), padId))).equals(Buffer.from(want))).toBe(true);
  }
}

describe('create-pair', () => {
  it('writes the same seeded pad to both dirs side by side, with progress', async () => {
    const size = 9 * MIB + 1000;
    const want = new Uint8Array(size);
    fillSeeded(seededKey('side by side'), want, 0);
    await createSideBySide(a, b, 'ab'.repeat(16), { kind: 'seeded', seed: 'side by side' }, want);
    expect(rows(a)[0]).toMatchObject({ contact: 'bob', side: 'A', size, insecure: true });
    expect(rows(b)[0]).toMatchObject({ contact: 'alice', side: 'B', size, insecure: true });
  });

  it('--source: both copies of a source file are written side by side too, each equal to the file', async () => {
    const size = 9 * MIB + 1000;
    const src = join(root, 'source.bin');
    const want = new Uint8Array(randomBytes(size));
    writeFileSync(src, want);
    await createSideBySide(a, b, 'cd'.repeat(16), { kind: 'file', path: src }, want);
    expect(rows(a)[0]).toMatchObject({ contact: 'bob', side: 'A', size, insecure: true });
  });

  it('checks both ledgers before writing: a contact that exists on B leaves A untouched', () => {
    createPadPair({
      dirA: join(root, 'x'),
      dirB: b,
      nameA: 'alice',
      nameB: 'carol',
      size: 1000,
      source: { kind: 'seeded', seed: '1' },
    });
    expect(() =>
      createPadPair({
        dirA: a,
        dirB: b,
        nameA: 'alice',
        nameB: 'bob',
        size: 5000,
        source: { kind: 'seeded', seed: '2' },
      }),
    ).toThrow(expect.objectContaining({ code: 'CONTACT_EXISTS' }));
    expect(padsOf(a)).toEqual([]);
    expect(rows(a)).toEqual([]);
  });

  it('SIGTERM mid-write: exits with CANCELLED, no pad in either ledger, no usable file; `pad burn` finishes', async () => {
    const size = 400 * MIB;
    const run = startCli(['pad', 'create-pair', '--a', a, '--b', b, '--size', `${size}`, '--seed', 'term']);
    // Past the inline-burn size (64 MiB), so the partial files go to the background burner.
    await until(
      () =>
        /create-pair: (\d+\.\d) MB/.test(run.out()) && Number(/.*create-pair: (\d+\.\d) MB/s.exec(run.out())?.[1]) > 70,
    );
    run.child.kill('SIGTERM');
    expect(await run.done).toBe(2);
    expect(run.out()).toContain('CANCELLED');
    for (const d of [a, b]) {
      expect(rows(d)).toEqual([]);
      expect(padsOf(d).every((f) => f.endsWith('.burn'))).toBe(true);
      expect(listBurning(join(d, 'pads')).length).toBe(1);
      const burn = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'device/service/main.ts', 'pad', 'burn', '--dir', d],
        {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 180_000,
        },
      );
      expect(burn.status, burn.stderr).toBe(0);
      expect(burn.stderr).toMatch(/burn: .* of .*MB\/s, .* left/);
      expect(padsOf(d)).toEqual([]);
    }
  }, 400_000);

  it('an engine or a listing opened while create-pair writes gets DATA_DIR_BUSY and leaves the install alone', async () => {
    // Issue 11: start-up recovery of a second opener used to abandon a pad install still being written.
    const run = startCli(['pad', 'create-pair', '--a', a, '--b', b, '--size', `${256 * MIB}`, '--seed', 'busy']);
    await until(() => /create-pair: \d/.test(run.out()));
    // Stopped mid-write, so the openers below certainly meet the install in progress, however loaded the machine.
    run.child.kill('SIGSTOP');
    try {
      for (const d of [a, b]) {
        const tmp = padsOf(d).filter((f) => f.endsWith('.tmp'));
        expect(tmp).toHaveLength(1);
        const size = statSync(join(d, 'pads', tmp[0] as string)).size;
        const config = parseConfig({ dataDir: d, device: { simulated: true } });
        expect(() => DeviceEngine.open({ config, confirmer: new ScriptedConfirmer() })).toThrow(
          expect.objectContaining({ code: 'DATA_DIR_BUSY' }),
        );
        await expect(inspectDataDir(config, (v) => v.pads())).rejects.toMatchObject({ code: 'DATA_DIR_BUSY' });
        expect(padsOf(d).filter((f) => f.endsWith('.tmp'))).toEqual(tmp);
        expect(statSync(join(d, 'pads', tmp[0] as string)).size).toBe(size);
      }
    } finally {
      run.child.kill('SIGCONT');
    }
    expect(await run.done).toBe(0);
    const open = (d: string) =>
      DeviceEngine.open({
        config: parseConfig({ dataDir: d, device: { simulated: true } }),
        confirmer: new ScriptedConfirmer(),
      });
    const ea = open(a);
    const eb = open(b);
    try {
      const m = await ea.package('bob', new TextEncoder().encode('the install survived'));
      expect(new TextDecoder().decode((await eb.unpackage(m.package)).plaintext ?? new Uint8Array())).toBe(
        'the install survived',
      );
    } finally {
      ea.close();
      eb.close();
    }
  }, 180_000);

  it('SIGKILL mid-write: no pad in either ledger; opening either dir leaves nothing usable and burns the rest', async () => {
    const run = startCli(['pad', 'create-pair', '--a', a, '--b', b, '--size', `${400 * MIB}`, '--seed', 'kill']);
    await until(() => /create-pair: \d/.test(run.out()));
    run.child.kill('SIGKILL');
    await run.done;
    for (const d of [a, b]) {
      expect(padsOf(d).some((f) => f.endsWith('.tmp'))).toBe(true);
      const e = DeviceEngine.open({
        config: parseConfig({ dataDir: d, device: { simulated: true } }),
        confirmer: new ScriptedConfirmer(),
      });
      try {
        expect(e.pads()).toEqual([]);
        expect(padsOf(d).some((f) => f.endsWith('.pad') || f.endsWith('.tmp'))).toBe(false);
        await e.burnSettled();
        expect(padsOf(d)).toEqual([]);
      } finally {
        e.close();
      }
    }
  }, 120_000);
});
