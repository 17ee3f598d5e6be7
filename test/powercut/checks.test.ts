/**
 * The power-cut checks must catch what a power cut could do: each test plays a failure with the real engine on a
 * real data dir (a reservation lost, a ledger rolled back over burned bytes, pool bytes handed out twice, a half
 * install, a receive forgotten) and expects the named check, and only the expected ones, to fail. The honest run
 * expects none. The VM run itself is `npm run test:powercut` (docs/POWERCUT.md).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { autoApprove } from '../../device/confirm.js';
import { DeviceEngine } from '../../device/engine.js';
import { createPadPair } from '../../device/pad-pair.js';
import { encodePackage, parsePackage } from '../../device/wire.js';
import { History, MARKER, type Outgoing, RangeSet } from './checks.js';
import { layoutsFrom, padRangesOf } from './format.js';
import type { CheckRecord, GuestRecord } from './records.js';
import { scanImage } from './scan.js';

let dir: string;
let a: DeviceEngine;
let peer: DeviceEngine;
let padId: string;
const open = (d: string) => DeviceEngine.open({ config: parseConfig({ dataDir: d }), confirmer: autoApprove });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'onepad-powercut-checks-'));
  ({ padId } = createPadPair({
    dirA: join(dir, 'a'),
    dirB: join(dir, 'b'),
    nameA: 'device',
    nameB: 'peer',
    size: 1 << 16,
    source: { kind: 'seeded', seed: 'checks' },
  }));
  a = open(join(dir, 'a'));
  peer = open(join(dir, 'b'));
});

afterEach(() => {
  a.close();
  peer.close();
  rmSync(dir, { recursive: true, force: true });
});

function history(outgoing: Map<number, Outgoing> = new Map()): History {
  return new History(
    {
      async unpackage(pkg) {
        return (await peer.unpackage(pkg)).plaintext ?? new Uint8Array();
      },
    },
    padId,
    outgoing,
    layoutsFrom(peer),
  );
}

async function send(boot: number, seq: number): Promise<GuestRecord> {
  const r = await a.package('peer', new TextEncoder().encode(`${MARKER} boot=${boot} seq=${seq} hello`));
  return { t: 'pkg', hex: bytesToHex(r.package) };
}

function report(boot: number, extra: Partial<CheckRecord> = {}): CheckRecord {
  return {
    t: 'check',
    boot,
    ok: true,
    integrity: 'ok',
    burnQueue: 0,
    before: { pads: [], tmp: [] },
    pads: a.pads().map((p) => ({ ...p, fileSize: p.size, sha: null })),
    received: a.received(padId).map((r) => [r.start, r.end] as const),
    pool: { capacity: 0, filled: 0, consumed: 0, burned: 0, insecureUntil: 0 },
    after: { pads: [`${padId}.pad`], tmp: [] },
    ...extra,
  };
}

/** Copy the ledger (and its WAL) aside, as the medium held it before a write that a cut will lose. */
function saveLedger(): () => void {
  a.close();
  const files = ['ledger.db', 'ledger.db-wal', 'ledger.db-shm'].filter((f) => existsSync(join(dir, 'a', f)));
  for (const f of files) copyFileSync(join(dir, 'a', f), join(dir, `saved-${f}`));
  a = open(join(dir, 'a'));
  return () => {
    a.close();
    for (const f of ['ledger.db-wal', 'ledger.db-shm']) rmSync(join(dir, 'a', f), { force: true });
    for (const f of files) copyFileSync(join(dir, `saved-${f}`), join(dir, 'a', f));
    a = open(join(dir, 'a'));
  };
}

describe('power-cut checks', () => {
  it('find nothing in an honest run', async () => {
    const h = history();
    await h.capture(0, [await send(0, 0), await send(0, 1)]);
    h.checkReport(report(1));
    await h.capture(1, [await send(1, 0)]);
    h.checkReport(report(2));
    expect(h.failures()).toEqual({});
    expect(h.tallies['decrypts-once'].checked).toBe(3);
    expect(h.tallies['slots-disjoint'].checked).toBe(3);
  });

  it('catch a reservation lost after its package left (the ledger rolled back, the pad file too)', async () => {
    const h = history();
    a.close();
    for (const f of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm', `pads/${padId}.pad`]) {
      if (existsSync(join(dir, 'a', f))) copyFileSync(join(dir, 'a', f), join(dir, `whole-${f.replace('/', '_')}`));
    }
    a = open(join(dir, 'a'));
    await h.capture(0, [await send(0, 0)]);
    // The cut loses everything the package's send wrote: ledger and burn.
    a.close();
    for (const f of ['ledger.db-wal', 'ledger.db-shm']) rmSync(join(dir, 'a', f), { force: true });
    for (const f of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm', `pads/${padId}.pad`]) {
      const src = join(dir, `whole-${f.replace('/', '_')}`);
      if (existsSync(src)) copyFileSync(src, join(dir, 'a', f));
    }
    a = open(join(dir, 'a'));
    h.checkReport(report(1));
    await h.capture(1, [await send(1, 0)]);
    const f = h.failures();
    expect(f['reserved-before-left']).toBe(1);
    expect(f['slots-disjoint']).toBe(1);
    // The peer refuses the second package: same segment as one it already received.
    expect(f['decrypts-once']).toBe(1);
  });

  it('a ledger rolled back over burned bytes makes the engine refuse (PAD_BURNED); a clear-text, zero-tag package is caught', async () => {
    const h = history();
    const restore = saveLedger();
    const first = await a.package('peer', new TextEncoder().encode(`${MARKER} boot=0 seq=0 hello`));
    await h.capture(0, [{ t: 'pkg', hex: bytesToHex(first.package) }]);
    restore(); // the pad file keeps its burn (zeros), the ledger forgets the reservation
    // Wire v2 refuses burned pad bytes before anything leaves: no clear text is ever produced.
    await expect(send(1, 0)).rejects.toMatchObject({ code: 'PAD_BURNED' });
    // What a device without that refusal would have sent: the same header, zeros of pad, so the plaintext in the
    // clear and the tag of an all-zero key. The checks must catch it.
    const plain = new TextEncoder().encode(`${MARKER} boot=1 seq=0 hello`);
    const p = parsePackage(first.package);
    const cleartext = encodePackage(
      p.side,
      p.padId,
      p.index,
      p.streamStart,
      plain,
      new Uint8Array(32),
      new Uint8Array(plain.length),
    );
    await h.capture(1, [{ t: 'pkg', hex: bytesToHex(cleartext) }]);
    const f = h.failures();
    expect(f['no-zero-tag']).toBe(1);
    expect(f['no-cleartext']).toBe(1);
    expect(f['slots-disjoint']).toBe(1);
  });

  it('catch pool bytes handed out twice, by position or by content, and a consumed counter rolled back', async () => {
    const h = history();
    const bytes = new Uint8Array(randomBytes(4096));
    await h.capture(0, [
      { t: 'install', padId: 'aa'.repeat(16), contact: 'x' },
      { t: 'draw', padId: 'aa'.repeat(16), start: 0, hex: bytesToHex(bytes) },
      { t: 'install', padId: 'bb'.repeat(16), contact: 'y' },
      { t: 'draw', padId: 'bb'.repeat(16), start: 2048, hex: bytesToHex(randomBytes(4096)) },
      { t: 'install', padId: 'cc'.repeat(16), contact: 'z' },
      { t: 'draw', padId: 'cc'.repeat(16), start: 8192, hex: bytesToHex(bytes) },
    ]);
    expect(h.tallies['pool-once'].failed).toBe(2);
    h.checkReport(
      report(1, { pool: { capacity: 1 << 17, filled: 8192, consumed: 4096, burned: 4096, insecureUntil: 0 } }),
    );
    expect(h.tallies['pool-durable'].failed).toBe(1);
  });

  it('catch a half-done pad install: file without a row, or a row lost after the install was reported', async () => {
    const h = history();
    const id1 = '11'.repeat(16);
    const id2 = '22'.repeat(16);
    await h.capture(0, [
      { t: 'install', padId: id1, contact: 'x' },
      { t: 'install', padId: id2, contact: 'y' },
      { t: 'installed', padId: id2 },
    ]);
    h.checkReport(report(1, { after: { pads: [`${padId}.pad`, `${id1}.pad`], tmp: ['x.tmp'] } }));
    // id1: absent from the ledger but its file is there; id2: reported installed, now gone; leftovers in pads/.
    expect(h.tallies['install-atomic'].failed).toBe(3);
  });

  it('catch a package unpackaged twice and a receive that was not durable', async () => {
    const res = await peer.package('device', new TextEncoder().encode('from the peer'));
    const r = a.received(padId);
    expect(r).toEqual([]);
    const sha = (await import('node:crypto')).createHash('sha256').update('from the peer').digest('hex');
    const out = new Map<number, Outgoing>([
      [0, { id: 0, hex: bytesToHex(res.package), range: { start: (1 << 16) - 45, end: 1 << 16 }, sha }],
    ]);
    const h = history(out);
    await h.capture(0, [
      { t: 'recv', id: 0, ok: true, sha },
      { t: 'recv', id: 0, ok: true, sha },
    ]);
    expect(h.tallies['receive-once'].failed).toBe(1);
    h.checkReport(report(1)); // the guest's ledger never recorded it
    expect(h.tallies['receive-durable'].failed).toBe(1);
  });

  it('scan finds bytes that should be gone, and only those', () => {
    const img = join(dir, 'disk.img');
    const needle = new Uint8Array(256).map((_, i) => (i * 13 + 1) & 0xff);
    const disk = new Uint8Array(1 << 16);
    disk.set(needle.subarray(64, 96), 4096 + 32 * 5);
    writeFileSync(img, disk);
    expect(scanImage(img, [{ what: 'burned', bytes: needle }]).hits).toHaveLength(1);
    writeFileSync(img, new Uint8Array(1 << 16));
    expect(scanImage(img, [{ what: 'burned', bytes: needle }]).hits).toHaveLength(0);
  });
});

describe('RangeSet', () => {
  it('finds an overlap exactly when a naive scan does', () => {
    const range = fc.tuple(fc.nat(1000), fc.integer({ min: 1, max: 50 })).map(([s, n]) => ({ start: s, end: s + n }));
    fc.assert(
      fc.property(fc.array(range, { maxLength: 60 }), fc.array(range, { maxLength: 20 }), (adds, queries) => {
        const set = new RangeSet();
        const kept: { start: number; end: number }[] = [];
        const meets = (a: { start: number; end: number }, b: { start: number; end: number }) =>
          a.start < b.end && b.start < a.end;
        for (const r of adds) {
          const naive = kept.some((k) => meets(k, r));
          expect(set.overlap(r) !== null).toBe(naive);
          if (!naive) {
            set.add(r);
            kept.push(r);
          }
        }
        for (const q of queries) expect(set.overlap(q) !== null).toBe(kept.some((k) => meets(k, q)));
      }),
    );
  });
});

describe('padRangesOf (the one wire-format-specific part)', () => {
  it("says a v2 package uses key slot i of its side's key area and L bytes of its stream area, disjoint", async () => {
    const d = mkdtempSync(join(tmpdir(), 'onepad-powercut-format-'));
    try {
      createPadPair({
        dirA: join(d, 'a'),
        dirB: join(d, 'b'),
        nameA: 'device',
        nameB: 'peer',
        size: 4096,
        source: { kind: 'seeded', seed: 'format' },
        typicalLength: 32,
      });
      const e = open(join(d, 'a'));
      const f = open(join(d, 'b'));
      const layoutOf = layoutsFrom(e);
      const p1 = padRangesOf((await e.package('peer', new Uint8Array(10))).package, layoutOf);
      const p2 = padRangesOf((await e.package('peer', new Uint8Array(5))).package, layoutOf);
      const q1 = padRangesOf((await f.package('device', new Uint8Array(7))).package, layoutOf);
      const pad = e.pads()[0]!;
      e.close();
      f.close();
      const keysA = 32 * pad.keySlotsA;
      const keysB = pad.size - 32 * pad.keySlotsB;
      // A: slot 0 then slot 1 of [0, 32kA); stream forward from 32kA.
      expect(p1.uses).toEqual([
        { kind: 'key', start: 0, end: 32 },
        { kind: 'stream', start: keysA, end: keysA + 10 },
      ]);
      expect(p2.uses).toEqual([
        { kind: 'key', start: 32, end: 64 },
        { kind: 'stream', start: keysA + 10, end: keysA + 15 },
      ]);
      // B: slot 0 of [n - 32kB, n); stream backward from n - 32kB.
      expect(q1.uses).toEqual([
        { kind: 'key', start: keysB, end: keysB + 32 },
        { kind: 'stream', start: keysB - 7, end: keysB },
      ]);
      expect(p1.tag).toHaveLength(16);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
