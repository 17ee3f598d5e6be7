/**
 * Pairing as the users start it: Pair on each device's home screen, Start on one and Join on the other, a hold on
 * Match after comparing fingerprints. Two device processes in two network namespaces joined by a veth pair, each
 * filling its own pool from its simulated HRNG in the background.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { padFilePath } from '../../device/pad-file.js';
import {
  addNamespaces,
  canUseNetns,
  deleteNamespaces,
  joinWithVeth,
  removeLeftoverNamespaces,
  spawnInNs,
} from '../helpers/netns.js';

const CHILD = 'test/provisioning/screen-pair-child.ts';
const PREFIX = 'onepad-s';
const NS = { a: `${PREFIX}${process.pid}-a`, b: `${PREFIX}${process.pid}-b` };
const IF = { a: `ps${process.pid}a`, b: `ps${process.pid}b` };

function lines(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!canUseNetns)('pairing started from the two screens', () => {
  let root: string;
  beforeAll(() => {
    removeLeftoverNamespaces(PREFIX);
    addNamespaces(NS.a, NS.b);
    joinWithVeth(NS.a, IF.a, NS.b, IF.b);
    root = mkdtempSync(join(tmpdir(), 'onepad-screenpair-'));
  });
  afterAll(() => {
    deleteNamespaces(NS.a, NS.b);
    rmSync(root, { recursive: true, force: true });
  });

  it('Pair, Start / Join, compare, hold Match: both devices hold the same active pad', async () => {
    const a = spawnInNs(NS.a, CHILD, [join(root, 'alice'), 'alice', IF.a, 'start']);
    const b = spawnInNs(NS.b, CHILD, [join(root, 'bob'), 'bob', IF.b, 'join']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const la = lines(ra.stdout);
    const lb = lines(rb.stdout);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const fa = la.find((l) => l.step === 'compare')?.fingerprint;
    const fb = lb.find((l) => l.step === 'compare')?.fingerprint;
    expect(fa).toMatch(/^\d{4}( \d{4}){4}$/);
    expect(fa).toBe(fb);
    const pa = (la.find((l) => l.step === 'done')?.pads as Record<string, unknown>[] | undefined)?.[0];
    const pb = (lb.find((l) => l.step === 'done')?.pads as Record<string, unknown>[] | undefined)?.[0];
    expect(pa).toMatchObject({ contact: 'bob', side: 'A', state: 'active', insecure: true });
    expect(pb).toMatchObject({ contact: 'alice', side: 'B', state: 'active', padId: pa?.padId, size: pa?.size });
    const fileA = readFileSync(padFilePath(join(root, 'alice', 'pads'), pa?.padId as string));
    const fileB = readFileSync(padFilePath(join(root, 'bob', 'pads'), pb?.padId as string));
    expect(fileA.equals(fileB)).toBe(true);
  }, 120_000);

  it.each(['alice', 'bob'] as const)(
    '%s taps Cancel on the progress screen mid-transfer: both stop, nothing kept, drawn pool bytes burned; pairing again works',
    async (canceller) => {
      const run = `cancel-${canceller}`;
      const how = (who: string) => (who === canceller ? 'cancel' : 'peer');
      const a = spawnInNs(NS.a, CHILD, [join(root, run, 'alice'), 'alice', IF.a, 'start', '-', how('alice')], 180_000);
      const b = spawnInNs(NS.b, CHILD, [join(root, run, 'bob'), 'bob', IF.b, 'join', '-', how('bob')], 180_000);
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      const la = lines(ra.stdout);
      const lb = lines(rb.stdout);
      const stopped = (l: Record<string, unknown>[]) => l.find((x) => x.step === 'stopped') as Record<string, unknown>;
      const [sc, sp] = canceller === 'alice' ? [stopped(la), stopped(lb)] : [stopped(lb), stopped(la)];
      // The tap came while chunks were moving: the screen showed bytes of the total.
      expect(sc.shown).toMatch(/ of /);
      expect(sc).toMatchObject({ home: true, log: ['pairing failed: CANCELLED'], events: [{ code: 'CANCELLED' }] });
      expect(sp).toMatchObject({
        home: true,
        log: ['pairing failed: PAIRING_PEER_ABORTED'],
        events: [{ code: 'PAIRING_PEER_ABORTED' }],
      });
      for (const s of [sc, sp]) {
        // No pad, no pad file (partial or burning): nothing of the stopped pairing can be used.
        expect(s.pads).toEqual([]);
        expect(s.padFiles).toEqual([]);
        // What it drew from the pool stays consumed, and is burned already.
        expect(s.consumed as number).toBeGreaterThan(0);
        expect(s.burned).toBe(s.consumed);
      }
      // Then the two pair again from their screens: one active pad each, the same.
      const fa = la.find((l) => l.step === 'compare')?.fingerprint;
      expect(fa).toMatch(/^\d{4}( \d{4}){4}$/);
      expect(lb.find((l) => l.step === 'compare')?.fingerprint).toBe(fa);
      const pa = la.find((l) => l.step === 'done')?.pads as Record<string, unknown>[];
      const pb = lb.find((l) => l.step === 'done')?.pads as Record<string, unknown>[];
      expect(pa).toEqual([expect.objectContaining({ contact: 'bob', side: 'A', state: 'active' })]);
      expect(pb).toEqual([expect.objectContaining({ contact: 'alice', side: 'B', padId: pa[0]?.padId })]);
    },
    200_000,
  );
});
