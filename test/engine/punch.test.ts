/**
 * Burned pad bytes are punched out of the pad file (fallocate PUNCH_HOLE, a discard hint to the flash), in whole
 * blocks and only where bytes were burned: a punch that reached one unused pad byte would destroy pad, and one
 * that never happens leaves every burned block allocated (the file's block count says which).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ByteRange } from '../../device/engine-types.js';
import { sideAreas } from '../../device/layout.js';
import { padFilePath } from '../../device/pad-file.js';
import { HolePuncher, punchable } from '../../device/pad-punch.js';
import { makePair, type Pair, text } from '../helpers/engine-fixture.js';

/** True when this file system punches holes (ext4, xfs, tmpfs, btrfs do). */
function punchWorks(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'onepad-punch-probe-'));
  try {
    const f = join(dir, 'probe');
    writeFileSync(f, Buffer.alloc(1 << 16, 1));
    const before = statSync(f).blocks;
    const r = spawnSync('fallocate', ['--punch-hole', '--keep-size', '-o', '0', '-l', String(1 << 16), f]);
    return r.status === 0 && statSync(f).blocks < before;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const canPunch = punchWorks();

/** The pad file as it must be: the original with exactly `burned` zeroed. */
function expected(original: Buffer, burned: readonly ByteRange[]): Buffer {
  const out = Buffer.from(original);
  for (const r of burned) out.fill(0, r.start, r.end);
  return out;
}

let pair: Pair | undefined;
afterEach(() => {
  pair?.cleanup();
  pair = undefined;
});

describe('punchable (which blocks of burned ranges are punched)', () => {
  it('punches only whole blocks inside the burned ranges, and keeps every other burned byte waiting', () => {
    const rangesArb = fc
      .array(fc.tuple(fc.nat(100_000), fc.integer({ min: 1, max: 20_000 })), { maxLength: 20 })
      .map((xs) => {
        // Sorted, disjoint, not touching: what the puncher's queue holds.
        const out: ByteRange[] = [];
        let at = 0;
        for (const [gap, len] of xs) {
          const start = at + 1 + gap;
          out.push({ start, end: start + len });
          at = start + len;
        }
        return out;
      });
    fc.assert(
      fc.property(rangesArb, fc.constantFrom(512, 4096, 65536), (ranges, bs) => {
        const { punch, keep } = punchable(ranges, bs);
        const inside = (r: ByteRange) => ranges.some((x) => x.start <= r.start && r.end <= x.end);
        for (const p of punch) {
          expect(p.start % bs).toBe(0);
          expect(p.end % bs).toBe(0);
          expect(p.end).toBeGreaterThan(p.start);
          expect(inside(p)).toBe(true);
        }
        for (const k of keep) expect(inside(k)).toBe(true);
        // Punched and kept together are exactly the burned bytes, none twice.
        const all = [...punch, ...keep].sort((x, y) => x.start - y.start);
        const total = (rs: readonly ByteRange[]) => rs.reduce((n, r) => n + r.end - r.start, 0);
        expect(total(all)).toBe(total(ranges));
        for (let i = 1; i < all.length; i++) expect(all[i]!.start).toBeGreaterThanOrEqual(all[i - 1]!.end);
      }),
    );
  });

  it('joins neighbouring burns: the block two messages complete together is punched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-punch-'));
    try {
      const f = join(dir, 'x.pad');
      const original = Buffer.alloc(3 * 4096, 7);
      writeFileSync(f, original);
      const p = new HolePuncher(60_000);
      // Two burns that each cover no whole block, and together cover [4096, 8192).
      writeFileSync(f, expected(original, [{ start: 3000, end: 9000 }]));
      p.add(f, 4096, [{ start: 3000, end: 6000 }]);
      p.add(f, 4096, [{ start: 6000, end: 9000 }]);
      await p.flush();
      expect(p.stats).toMatchObject({ punchedBytes: 4096, failures: 0 });
      expect(readFileSync(f).equals(expected(original, [{ start: 3000, end: 9000 }]))).toBe(true);
      p.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!canPunch)('burned pad bytes are punched out of the pad file', () => {
  const SIZE = 1 << 18;

  it('sender and receiver: burned blocks are freed, and not one unused pad byte changes', async () => {
    pair = makePair(SIZE, 'punch');
    const files = {
      A: padFilePath(join(pair.dirA, 'pads'), pair.padId),
      B: padFilePath(join(pair.dirB, 'pads'), pair.padId),
    };
    const original = readFileSync(files.A);
    expect(readFileSync(files.B).equals(original)).toBe(true);
    const blocksBefore = { A: statSync(files.A).blocks, B: statSync(files.B).blocks };
    const a = pair.openA();
    const b = pair.openB();
    const areas = sideAreas(a.pads()[0]!, 'A');
    const n = 30;
    const L = 1000;
    for (let i = 0; i < n; i++) {
      const msg = new Uint8Array(L).fill(0x30 + (i % 10));
      const p = await a.package('bob', msg);
      expect(text((await b.unpackage(p.package)).plaintext)).toBe(text(msg));
    }
    // A burned its key slots 0..n-1 and stream [start, start + n·L); B burned the same bytes on receipt.
    const burned: ByteRange[] = [
      { start: areas.keys.start, end: areas.keys.start + 32 * n },
      { start: areas.stream.start, end: areas.stream.start + n * L },
    ];
    const stats = { A: await a.discardBurned(), B: await b.discardBurned() };
    for (const side of ['A', 'B'] as const) {
      const s = stats[side];
      expect(s.failures, side).toBe(0);
      // 30 000 stream bytes from 21 824 hold 6 whole 4 KiB blocks; the 960 key bytes hold none.
      expect(s.punchedBytes, side).toBeGreaterThanOrEqual(6 * 4096);
      expect(readFileSync(files[side]).equals(expected(original, burned)), side).toBe(true);
      const freed = (blocksBefore[side] - statSync(files[side]).blocks) * 512;
      expect(freed, side).toBeGreaterThanOrEqual(s.punchedBytes - 4096);
      expect(statSync(files[side]).size).toBe(SIZE);
    }
    // The pad still works past the holes, both ways.
    const p = await b.package('alice', new Uint8Array(L).fill(0x61));
    expect(text((await a.unpackage(p.package)).plaintext)).toBe('a'.repeat(L));
  });

  it('what waits at close is punched before close returns', async () => {
    pair = makePair(SIZE, 'punch-close');
    const file = padFilePath(join(pair.dirA, 'pads'), pair.padId);
    const before = statSync(file).blocks;
    const a = pair.openA();
    for (let i = 0; i < 10; i++) await a.package('bob', new Uint8Array(2000).fill(1));
    a.close();
    expect((before - statSync(file).blocks) * 512).toBeGreaterThanOrEqual(3 * 4096);
  });

  it('control: with burning off nothing is punched, and the file keeps every block', async () => {
    pair = makePair(SIZE, 'punch-off');
    const file = padFilePath(join(pair.dirA, 'pads'), pair.padId);
    const original = readFileSync(file);
    const before = statSync(file).blocks;
    const a = pair.openA({}, { engine: { burn: false } });
    for (let i = 0; i < 10; i++) await a.package('bob', new Uint8Array(2000).fill(1));
    expect((await a.discardBurned()).runs).toBe(0);
    a.close();
    expect(statSync(file).blocks).toBe(before);
    expect(readFileSync(file).equals(original)).toBe(true);
  });
});
