/**
 * One process per data dir: the engine holds the ledger with SQLite's exclusive lock for its life. A second
 * opener, in this process or another, gets DATA_DIR_BUSY and changes nothing; listing commands refuse too rather
 * than run recovery; and no interleaving of openers and senders ever lets a package out in the clear.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceEngine } from '../../device/engine.js';
import { OnepadError } from '../../device/errors.js';
import { inspectDataDir } from '../../device/inspect.js';
import { Ledger } from '../../device/ledger/ledger.js';
import { HEADER_LENGTH, parsePackage, TAG_LENGTH } from '../../device/wire.js';
import { makePair, type Pair, ScriptedConfirmer, text, utf8 } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = 'test/engine/lock-child.ts';

interface ChildRun {
  readonly code: number | null;
  readonly lines: string[];
}

/** Start a lock child; `onLine` sees each stdout line as it comes. */
function child(args: string[], onLine?: (line: string) => void): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    const lines: string[] = [];
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (d: string) => {
      buf += d;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine?.(line);
        i = buf.indexOf('\n');
      }
    });
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, lines }));
  });
}

/** A package is not clear text: its ciphertext differs from the plaintext and its tag is not all zeros. */
function expectEncrypted(pkg: Uint8Array, plaintext: Uint8Array): void {
  const h = parsePackage(pkg);
  expect(h.length).toBe(plaintext.length);
  expect(Buffer.from(pkg.subarray(HEADER_LENGTH, HEADER_LENGTH + h.length)).equals(Buffer.from(plaintext))).toBe(false);
  expect(pkg.subarray(HEADER_LENGTH + h.length, HEADER_LENGTH + h.length + TAG_LENGTH).some((x) => x !== 0)).toBe(true);
}

let pair: Pair | undefined;
afterEach(() => {
  pair?.cleanup();
  pair = undefined;
});

describe('one process per data dir', () => {
  it('a second engine in the same process gets DATA_DIR_BUSY and touches nothing; the first goes on', async () => {
    pair = makePair(4096);
    const a = pair.openA();
    const b = pair.openB();
    await a.package('bob', utf8('before'));
    const before = stateHash(pair.dirA);
    const err = (() => {
      try {
        DeviceEngine.open({ config: pair.configA(), confirmer: new ScriptedConfirmer() });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(OnepadError);
    expect((err as OnepadError).code).toBe('DATA_DIR_BUSY');
    expect(() => Ledger.open(`${pair?.dirA}/ledger.db`)).toThrow(expect.objectContaining({ code: 'DATA_DIR_BUSY' }));
    await expect(inspectDataDir(pair.configA(), (v) => v.pads())).rejects.toMatchObject({ code: 'DATA_DIR_BUSY' });
    expect(stateHash(pair.dirA)).toBe(before);
    const p = await a.package('bob', utf8('after'));
    expect(text((await b.unpackage(p.package)).plaintext)).toBe('after');
    a.close();
    // Once the engine is closed, the dir can be inspected (no recovery) and opened again.
    const pads = await inspectDataDir(pair.configA(), (v) => v.pads());
    expect(pads[0]).toMatchObject({ contact: 'bob', sendIndex: 2 });
    const again = pair.openA();
    expect(again.pads()[0]?.sendIndex).toBe(2);
  });

  it('a sender that pauses after each reservation is never disturbed by other processes opening the dir', async () => {
    pair = makePair(4096);
    const p = pair;
    const openers: Promise<ChildRun>[] = [];
    // The sender keeps the dir open until every opener has finished, so each opener runs while it holds the lock
    // (on a loaded machine a child may take seconds to start).
    const hold = join(p.root, 'openers-done');
    let sent = 0;
    let allSent: () => void = () => undefined;
    const sentAll = new Promise<void>((r) => {
      allSent = r;
    });
    const sender = child(['send', p.dirA, '6', '2500', hold], (line) => {
      // Each package line (and the ready line) comes while the sender holds the lock: try to open it then.
      if (openers.length < 6) {
        openers.push(child(['open', p.dirA]), child(['list', p.dirA]));
      }
      if (line !== 'ready' && ++sent === 6) allSent();
    });
    await Promise.race([sentAll, sender]);
    const others = await Promise.all(openers);
    writeFileSync(hold, '');
    const s = await sender;
    expect(s.code).toBe(0);
    expect(others.length).toBe(6);
    // Every opener ran while the sender held the dir: each was refused, none printed an error of another kind.
    for (const o of others) expect(o.lines.at(-1)).toBe('BUSY');
    const pkgs = s.lines.filter((l) => l !== 'ready');
    expect(pkgs).toHaveLength(6);
    const b = p.openB();
    for (const [i, hex] of pkgs.entries()) {
      const pkg = Buffer.from(hex, 'hex');
      expectEncrypted(pkg, utf8(`lock test ${i}`));
      expect(text((await b.unpackage(pkg)).plaintext)).toBe(`lock test ${i}`);
    }
  }, 180_000);

  it('several processes racing to open the dir and send: no clear-text package, every one decrypts once', async () => {
    pair = makePair(1 << 16);
    const p = pair;
    const runs = await Promise.all([
      child(['send', p.dirA, '4', '50']),
      child(['send', p.dirA, '4', '50']),
      child(['send', p.dirA, '4', '50']),
      child(['open', p.dirA]),
      child(['list', p.dirA]),
      child(['send', p.dirA, '4', '50']),
    ]);
    for (const r of runs) expect(r.lines.at(-1)).toMatch(/^(BUSY|OPENED|LISTED \d+|[0-9a-f]+)$/);
    const senders = runs.filter((r) => r.lines[0] === 'ready');
    expect(senders.length).toBeGreaterThan(0);
    const b = p.openB();
    const indexes = new Set<number>();
    for (const r of senders) {
      expect(r.code).toBe(0);
      const pkgs = r.lines.slice(1);
      expect(pkgs).toHaveLength(4);
      for (const [i, hex] of pkgs.entries()) {
        const pkg = Buffer.from(hex, 'hex');
        expectEncrypted(pkg, utf8(`lock test ${i}`));
        indexes.add(parsePackage(pkg).index);
        expect(text((await b.unpackage(pkg)).plaintext)).toBe(`lock test ${i}`);
      }
    }
    expect(indexes.size).toBe(senders.length * 4);
  }, 180_000);

  it('two sends approved at once on a pad with room for one: the loser gets a coded error, never a raw Error', async () => {
    pair = makePair(2 * (32 + 100));
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const confirmer = new ScriptedConfirmer(async () => {
      await gate;
      return 'approved' as const;
    });
    const a = pair.openA({ confirmer });
    const room = a.pads()[0]!.streamLeft;
    const first = a.package('bob', new Uint8Array(room).fill(1));
    const second = a.package('bob', new Uint8Array(room).fill(2));
    release?.();
    const results = await Promise.allSettled([first, second]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(OnepadError);
    expect((lost.reason as OnepadError).code).toBe('PAD_EXHAUSTED');
  });
});
