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
});
