/**
 * Pairing two device processes in two network namespaces joined by a veth pair, as two devices joined by a cable.
 * Each pool is filled from the simulated HRNG through the real filler; discovery finds the peer by IPv6 link-local
 * multicast; nobody types an address.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { DeviceEngine } from '../../device/engine.js';
import { padFilePath } from '../../device/pad-file.js';
import { ScriptedConfirmer } from '../helpers/engine-fixture.js';
import {
  addNamespaces,
  canUseNetns,
  deleteNamespaces,
  joinWithVeth,
  removeLeftoverNamespaces,
  spawnInNs,
} from '../helpers/netns.js';

const CHILD = 'test/provisioning/pair-child.ts';
const PREFIX = 'onepad-q';
const NS = { a: `${PREFIX}${process.pid}-a`, b: `${PREFIX}${process.pid}-b` };
const IF = { a: `pq${process.pid}a`, b: `pq${process.pid}b` };

let root: string;

function deviceDir(name: string, iface: string, discoveryTimeoutMs = 20_000): { dir: string; config: string } {
  const dir = join(root, name);
  const config = join(root, `${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      dataDir: dir,
      device: { name, simulated: true },
      hrng: { sources: [{ kind: 'simulated' }], poolMaxBytes: 64 * 1048576 },
      pairing: {
        interface: iface,
        chunkBytes: 262_144,
        discoveryTimeoutMs,
        ioTimeoutMs: 5000,
        approvalTimeoutMs: 5000,
      },
    }),
  );
  return { dir, config };
}

function poolCounters(dir: string): { filled: number; consumed: number; burned: number } {
  const db = new Database(join(dir, 'ledger.db'), { readonly: true });
  try {
    return db.prepare('SELECT filled, consumed, burned FROM pool').get() as {
      filled: number;
      consumed: number;
      burned: number;
    };
  } finally {
    db.close();
  }
}

function openEngine(dir: string, name: string): DeviceEngine {
  return DeviceEngine.open({
    config: parseConfig({ dataDir: dir, device: { name, simulated: true } }),
    confirmer: new ScriptedConfirmer(),
  });
}

function lastJson(out: string): Record<string, unknown> {
  const line = out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  return line ? (JSON.parse(line) as Record<string, unknown>) : {};
}

describe.skipIf(!canUseNetns)('pairing two devices over a cable (network namespaces)', () => {
  beforeAll(() => {
    removeLeftoverNamespaces(PREFIX);
    addNamespaces(NS.a, NS.b);
    joinWithVeth(NS.a, IF.a, NS.b, IF.b);
  });
  afterAll(() => deleteNamespaces(NS.a, NS.b));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds the peer, builds byte-identical pads, and each side decrypts the other', async () => {
    root = mkdtempSync(join(tmpdir(), 'onepad-pairns-'));
    const alice = deviceDir('alice', IF.a);
    const bob = deviceDir('bob', IF.b);
    const size = 2 * 1048576;
    const b = spawnInNs(NS.b, CHILD, [bob.config, 'responder', String(3 * 1048576)]);
    const a = spawnInNs(NS.a, CHILD, [alice.config, 'initiator', String(3 * 1048576), String(size)]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const resA = lastJson(ra.stdout);
    const resB = lastJson(rb.stdout);
    expect(resA, ra.stderr).toMatchObject({ ok: true, contact: 'bob', side: 'A', size, insecure: true });
    expect(resB, rb.stderr).toMatchObject({ ok: true, contact: 'alice', side: 'B', size, padId: resA.padId });
    expect(resA.fingerprint).toBe(resB.fingerprint);
    const padA = readFileSync(padFilePath(join(alice.dir, 'pads'), resA.padId as string));
    const padB = readFileSync(padFilePath(join(bob.dir, 'pads'), resB.padId as string));
    expect(padA.length).toBe(size);
    expect(padA.equals(padB)).toBe(true);
    // Each pool gave exactly the pad's size, burned.
    for (const d of [alice.dir, bob.dir]) {
      const c = poolCounters(d);
      expect(c.consumed).toBe(size);
      expect(c.burned).toBe(size);
    }
    const ea = openEngine(alice.dir, 'alice');
    const eb = openEngine(bob.dir, 'bob');
    try {
      const pa = ea.pads()[0]!;
      const pb = eb.pads()[0]!;
      expect(pa).toMatchObject({ side: 'A', split: size / 2, state: 'active', insecure: true, wireVersion: 2 });
      // The same v2 layout in both ledgers; each cursor at its own end of its stream area.
      expect(pb).toMatchObject({ side: 'B', split: size / 2, keySlotsA: pa.keySlotsA, keySlotsB: pa.keySlotsB });
      expect(pa.cursor).toBe(32 * pa.keySlotsA);
      expect(pb.cursor).toBe(size - 32 * pb.keySlotsB);
      const m1 = await ea.package('bob', new TextEncoder().encode('from alice over the cable'));
      expect(new TextDecoder().decode((await eb.unpackage(m1.package)).plaintext!)).toBe('from alice over the cable');
      const m2 = await eb.package('alice', new TextEncoder().encode('and back'));
      expect(new TextDecoder().decode((await ea.unpackage(m2.package)).plaintext!)).toBe('and back');
    } finally {
      ea.close();
      eb.close();
    }
  }, 120_000);

  it.each(['initiator', 'responder'] as const)(
    'the %s killed mid-transfer: no active pad on either side, no pad file left, pool bytes not reused',
    async (victim) => {
      root = mkdtempSync(join(tmpdir(), 'onepad-pairns-'));
      const alice = deviceDir('alice', IF.a);
      const bob = deviceDir('bob', IF.b);
      const size = 16 * 1048576;
      const b = spawnInNs(NS.b, CHILD, [bob.config, 'responder', String(size)]);
      const a = spawnInNs(NS.a, CHILD, [alice.config, 'initiator', String(size), String(size)]);
      const killed = victim === 'initiator' ? a : b;
      const survivor = victim === 'initiator' ? b : a;
      // Kill once the transfer is under way.
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          if (/progress \d+/.test(killed.output())) {
            clearInterval(t);
            killed.child.kill('SIGKILL');
            resolve();
          }
        }, 5);
        setTimeout(() => {
          clearInterval(t);
          reject(new Error('transfer never started'));
        }, 60_000);
      });
      const [rk, rs] = await Promise.all([killed.done, survivor.done]);
      expect(rk.signal ?? '', 'the victim was killed').toMatch(/SIGKILL/);
      expect(lastJson(rs.stdout), rs.stderr).toMatchObject({ ok: false, code: 'PAIRING_PEER_LOST' });
      for (const [d, name] of [
        [alice.dir, 'alice'],
        [bob.dir, 'bob'],
      ] as const) {
        const before = poolCounters(d);
        const e = openEngine(d, name); // start-up recovery burns the partial pad file
        try {
          expect(e.pads()).toEqual([]);
        } finally {
          e.close();
        }
        expect(readdirSync(join(d, 'pads'))).toEqual([]);
        // Whatever was drawn stays consumed: the next pairing draws fresh bytes.
        expect(before.consumed).toBeGreaterThan(0);
      }
    },
    120_000,
  );

  it('an initiator alone on the cable gives up with PAIRING_TIMEOUT and keeps nothing', async () => {
    root = mkdtempSync(join(tmpdir(), 'onepad-pairns-'));
    const alice = deviceDir('alice', IF.a, 1500);
    const r = await spawnInNs(NS.a, CHILD, [alice.config, 'initiator', String(65536)]).done;
    expect(lastJson(r.stdout), r.stderr).toEqual({ ok: false, code: 'PAIRING_TIMEOUT' });
    expect(readdirSync(join(alice.dir, 'pads'))).toEqual([]);
    expect(poolCounters(alice.dir).consumed).toBe(0);
  }, 60_000);

  it('the cable plugged in after both users picked Start and Join: discovery waits for the link', async () => {
    root = mkdtempSync(join(tmpdir(), 'onepad-pairns-'));
    const late = { a: `pq${process.pid}c`, b: `pq${process.pid}d` };
    const alice = deviceDir('alice', late.a);
    const bob = deviceDir('bob', late.b);
    const b = spawnInNs(NS.b, CHILD, [bob.config, 'responder', '0']);
    const a = spawnInNs(NS.a, CHILD, [alice.config, 'initiator', '0']);
    // Both are looking (their pools are empty: the pairing will stop at POOL_INSUFFICIENT, after discovery).
    await new Promise((r) => setTimeout(r, 1500));
    joinWithVeth(NS.a, late.a, NS.b, late.b);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    // They found each other over the late link: the refusal comes from the pairing, not from discovery.
    expect(lastJson(ra.stdout), ra.stderr).toEqual({ ok: false, code: 'POOL_INSUFFICIENT' });
    expect(lastJson(rb.stdout), rb.stderr).toEqual({ ok: false, code: 'PAIRING_PEER_ABORTED' });
  }, 60_000);
});
