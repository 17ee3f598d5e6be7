/**
 * The real `onepad pair` processes, one in each of two network namespaces joined by a veth pair: SIGTERM to one of
 * them mid-transfer stops both cleanly (exit code, message), leaves no pad, no pad file and every drawn pool byte
 * consumed and burned on both devices; pairing again afterwards works and draws fresh pool bytes. The progress line
 * (done, total, share, rate, seconds left) is read back from the CLI's own output.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDataDir } from '../../device/data-dir.js';
import { Ledger } from '../../device/ledger/ledger.js';
import { padFilePath } from '../../device/pad-file.js';
import { EntropyPool } from '../../hrng/pool.js';
import { SimStream } from '../../hrng/sim-source.js';
import { type OnepadCli, startOnepad } from '../helpers/child.js';
import {
  addNamespaces,
  canUseNetns,
  deleteNamespaces,
  joinWithVeth,
  removeLeftoverNamespaces,
} from '../helpers/netns.js';

const PREFIX = 'onepad-h18t';
const NS = { a: `${PREFIX}${process.pid}-a`, b: `${PREFIX}${process.pid}-b` };
const IF = { a: `pt${process.pid}a`, b: `pt${process.pid}b` };
const MIB = 1 << 20;
const POOL = 40 * MIB;

let root: string;

/** `onepad <args>` (the real entry point) inside namespace `ns`. */
const cliInNs = (ns: string, args: string[]): OnepadCli => startOnepad(args, ns);

/** A simulated device's config and data dir, its pool prefilled with `POOL` bytes of a seeded stream. */
function device(name: string, iface: string): { dir: string; config: string } {
  const dir = join(root, name);
  const config = join(root, `${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      dataDir: dir,
      device: { name, simulated: true },
      hrng: { sources: [{ kind: 'simulated' }], poolMaxBytes: 64 * MIB },
      // A window of 2 and 64 KiB chunks: a 32 MiB transfer has 512 round trips, long enough to stop it part way.
      pairing: {
        interface: iface,
        chunkBytes: 65_536,
        window: 2,
        discoveryTimeoutMs: 20_000,
        ioTimeoutMs: 10_000,
        approvalTimeoutMs: 10_000,
      },
    }),
  );
  const layout = prepareDataDir(dir);
  const ledger = Ledger.open(layout.ledger);
  const pool = EntropyPool.open({ db: ledger.db, path: layout.pool, maxBytes: 64 * MIB });
  pool.append(new SimStream(`${name}-pool`).next(POOL), true);
  pool.close();
  ledger.close();
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

function padRows(dir: string): { pad_id: string; state: string }[] {
  const db = new Database(join(dir, 'ledger.db'), { readonly: true });
  try {
    return db.prepare('SELECT lower(hex(pad_id)) AS pad_id, state FROM pads').all() as {
      pad_id: string;
      state: string;
    }[];
  } finally {
    db.close();
  }
}

/** The pool file's bytes [from, to). */
function poolBytes(dir: string, from: number, to: number): Buffer {
  return readFileSync(join(dir, 'pool.bin')).subarray(from, to);
}

const PROGRESS = /^([\d.]+) MiB \/ ([\d.]+) MiB \((\d+)%\), ([\d.]+) MiB\/s, (\d+) s left {3}$/;

/** The progress lines the CLI drew over one another with \r, parsed. */
function progressLines(stderr: string): { bytes: number; total: number; pct: number; rate: number; left: number }[] {
  return stderr
    .split(/[\r\n]/)
    .filter((l) => l.includes(' MiB / '))
    .map((l) => {
      const m = PROGRESS.exec(l);
      if (!m) throw new Error(`not a progress line: ${JSON.stringify(l)}`);
      return { bytes: Number(m[1]), total: Number(m[2]), pct: Number(m[3]), rate: Number(m[4]), left: Number(m[5]) };
    });
}

async function until(f: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.skipIf(!canUseNetns)('SIGTERM to a real `onepad pair` process', () => {
  beforeAll(() => {
    removeLeftoverNamespaces(PREFIX);
    addNamespaces(NS.a, NS.b);
    joinWithVeth(NS.a, IF.a, NS.b, IF.b);
  });
  afterAll(() => deleteNamespaces(NS.a, NS.b));

  it.each(['initiator', 'responder'] as const)(
    'the %s stopped mid-transfer: CANCELLED here, PAIRING_PEER_ABORTED there, nothing usable left, pairing again works',
    async (victim) => {
      root = mkdtempSync(join(tmpdir(), 'onepad-clistop-'));
      try {
        const alice = device('alice', IF.a);
        const bob = device('bob', IF.b);
        const b = cliInNs(NS.b, ['pair', '--config', bob.config, '--responder', '--auto-approve']);
        const a = cliInNs(NS.a, ['pair', '--config', alice.config, '--initiator', '--size', '32M', '--auto-approve']);
        const killed = victim === 'initiator' ? a : b;
        const survivor = victim === 'initiator' ? b : a;
        // Once the victim has shown a chunk or more of the transfer, as a user would press Ctrl-C or systemd stop.
        await until(() => / MiB \/ 32\.0 MiB/.test(killed.err()));
        killed.child.kill('SIGTERM');
        const [ck, cs] = await Promise.all([killed.done, survivor.done]);
        expect(ck, killed.err()).toBe(2);
        expect(killed.err()).toMatch(
          / s left {3}\nonepad: CANCELLED: the job was stopped before it finished; nothing it made is usable\n$/,
        );
        expect(cs, survivor.err()).toBe(2);
        expect(survivor.err()).toMatch(
          / s left {3}\nonepad: PAIRING_PEER_ABORTED: the peer device aborted the pairing: the peer aborted: CANCELLED\n$/,
        );
        // It stopped part way: the last progress line shows less than the whole pad.
        const last = progressLines(killed.err()).at(-1);
        expect(last?.bytes).toBeLessThan(32);
        expect(killed.out() + survivor.out()).toBe('');

        const before = new Map<string, { filled: number; consumed: number; burned: number }>();
        for (const d of [alice.dir, bob.dir]) {
          // No pad in the ledger, no pad file (a partial one under 64 MiB is burned before the process exits).
          expect(padRows(d)).toEqual([]);
          expect(readdirSync(join(d, 'pads'))).toEqual([]);
          // What was drawn stays consumed and is burned: zeros in the pool file, never handed out again.
          const c = poolCounters(d);
          expect(c.consumed).toBeGreaterThan(0);
          expect(c.burned).toBe(c.consumed);
          expect(poolBytes(d, 0, c.consumed).every((x) => x === 0)).toBe(true);
          before.set(d, c);
        }

        // Pairing again works, from fresh pool bytes.
        const b2 = cliInNs(NS.b, ['pair', '--config', bob.config, '--responder', '--auto-approve']);
        const a2 = cliInNs(NS.a, ['pair', '--config', alice.config, '--initiator', '--size', '4M', '--auto-approve']);
        const [ca2, cb2] = await Promise.all([a2.done, b2.done]);
        expect(ca2, a2.err()).toBe(0);
        expect(cb2, b2.err()).toBe(0);
        const ra = JSON.parse(a2.out()) as { padId: string; size: number; fingerprint: string };
        const rb = JSON.parse(b2.out()) as { padId: string; size: number; fingerprint: string };
        expect(ra).toMatchObject({ contact: 'bob', side: 'A', size: 4 * MIB, insecure: true });
        expect(rb).toMatchObject({ contact: 'alice', side: 'B', padId: ra.padId, fingerprint: ra.fingerprint });
        const padA = readFileSync(padFilePath(join(alice.dir, 'pads'), ra.padId));
        expect(padA.equals(readFileSync(padFilePath(join(bob.dir, 'pads'), rb.padId)))).toBe(true);
        for (const d of [alice.dir, bob.dir]) {
          expect(padRows(d)).toEqual([{ pad_id: ra.padId, state: 'active' }]);
          const c = poolCounters(d);
          expect(c.consumed).toBe((before.get(d)?.consumed ?? 0) + 4 * MIB);
          expect(c.burned).toBe(c.consumed);
        }

        // The progress line: done and total, share, rate and time left, ending at the whole pad, 0 s left.
        for (const run of [a2, b2]) {
          const lines = progressLines(run.err());
          expect(lines.length).toBeGreaterThan(4);
          for (const [i, l] of lines.entries()) {
            expect(l.total).toBe(4);
            expect(l.rate).toBeGreaterThan(0);
            if (i > 0) expect(l.bytes).toBeGreaterThanOrEqual(lines[i - 1]?.bytes ?? 0);
            // Bytes and rate are shown to 0.1 MiB (each within 0.05 of its value): the share and the time left must
            // be what some values within those bounds give, rounded as the line rounds them (down, and up).
            expect(Math.abs(l.pct - (100 * l.bytes) / l.total)).toBeLessThanOrEqual(2.5);
            const leftMin = (l.total - l.bytes - 0.05) / (l.rate + 0.05);
            const leftMax = (l.total - l.bytes + 0.05) / Math.max(0.001, l.rate - 0.05);
            expect(l.left).toBeGreaterThanOrEqual(Math.floor(leftMin));
            expect(l.left).toBeLessThanOrEqual(Math.ceil(leftMax));
          }
          expect(lines.at(-1)).toMatchObject({ bytes: 4, total: 4, pct: 100, left: 0 });
          expect(run.err()).toMatch(/^connected\n/m);
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    240_000,
  );
});
