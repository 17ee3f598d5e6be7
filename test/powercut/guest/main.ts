/**
 * The power-cut guest program (bundled into the app disk, run by its init.sh as the VM's only process): first the
 * checker, then the workload loop, until the host cuts the power.
 *
 * Checker: lists the data dir as the power cut left it, opens the engine (start-up recovery), the ledger and the
 * pool, and reports what they hold (no pad bytes: counters, ranges, file sizes and hashes) as one `check` record.
 *
 * Workload: package, unpackage, pool filling and pad installs, interleaved at random, back to back. Every result
 * is written to the virtio-serial port right after the engine returns it: that is the moment it leaves the device.
 * Records are JSON lines (see ../records.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { parseConfig } from '../../../device/config/config.js';
import { autoApprove } from '../../../device/confirm.js';
import { dataDirLayout } from '../../../device/data-dir.js';
import { DeviceEngine } from '../../../device/engine.js';
import { OnepadError } from '../../../device/errors.js';
import { createPadPair } from '../../../device/pad-pair.js';
import { installPad } from '../../../device/pads.js';
import { Filler } from '../../../hrng/filler.js';
import { EntropyPool } from '../../../hrng/pool.js';
import { SimSource } from '../../../hrng/sim-source.js';
import type { CheckRecord, Inbox, PadFact } from '../records.js';

const [portPath] = process.argv.slice(2) as [string];
const DATA_DEV = '/dev/vdc';
const INBOX_DEV = '/dev/vdd';
let dataDir = '/data/onepad';
/** While warming up (before the machine is saved) nothing is reported. */
let muted = false;
const port = openSync(portPath, 'w');

/**
 * Randomness for the workload from the host's seed in the inbox: every boot restores the same saved machine, so
 * the kernel's and OpenSSL's generators start from the same state each time and would repeat themselves.
 */
class SeededRandom {
  private counter = 0;
  constructor(private readonly seed: string) {}
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) {
      const h = createHash('sha256')
        .update(`${this.seed}/${this.counter++}`)
        .digest();
      out.set(h.subarray(0, Math.min(32, n - off)), off);
    }
    return out;
  }
  /** An integer in [lo, hi). */
  int(lo: number, hi: number): number {
    const b = this.bytes(4);
    return (
      lo +
      (((((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0) %
        (hi - lo))
    );
  }
}

/** Write one record to the port; `ms` is the guest program's uptime. */
function emit(rec: Record<string, unknown>): void {
  if (muted) return;
  const line = `${JSON.stringify({ ...rec, ms: Math.round(performance.now()) })}\n`;
  writeSync(port, line);
}

function readInbox(path: string): Inbox {
  const fd = openSync(path, 'r');
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(1 << 20);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n <= 0) break;
    const z = buf.subarray(0, n).indexOf(0);
    chunks.push(Buffer.from(buf.subarray(0, z < 0 ? n : z)));
    if (z >= 0) break;
  }
  closeSync(fd);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Inbox;
}

function listing(padsDir: string): { pads: string[]; tmp: string[] } {
  const names = existsSync(padsDir) ? readdirSync(padsDir).sort() : [];
  return { pads: names.filter((n) => n.endsWith('.pad')), tmp: names.filter((n) => n.endsWith('.tmp')) };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function errCode(e: unknown): string {
  return e instanceof OnepadError ? e.code : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

// --- checker ------------------------------------------------------------------------------------

function check(inbox: Inbox): { engine: DeviceEngine } | null {
  const layout = dataDirLayout(dataDir);
  const before = listing(layout.pads);
  const rec: Partial<CheckRecord> & { t: 'check' } = { t: 'check', boot: inbox.boot, before };
  let engine: DeviceEngine;
  try {
    engine = DeviceEngine.open({ config: parseConfig({ dataDir }), confirmer: autoApprove });
  } catch (e) {
    emit({ ...rec, ok: false, error: `engine open: ${errCode(e)}` });
    return null;
  }
  try {
    // The engine holds the data dir's exclusive lock: its own connection is the only one there is.
    const db = engine.ledger.db;
    const integrity = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join(';');
    const burnQueue = (db.prepare('SELECT count(*) AS n FROM burn_queue').get() as { n: number }).n;
    const pool = EntropyPool.open({ db, path: layout.pool, maxBytes: inbox.poolMaxBytes });
    const counters = pool.counters();
    pool.close();
    const pads: PadFact[] = engine.pads().map((p) => {
      const path = join(layout.pads, `${p.padId}.pad`);
      const exists = existsSync(path);
      const fact: PadFact = {
        padId: p.padId,
        contact: p.contact,
        side: p.side,
        size: p.size,
        split: p.split,
        cursor: p.cursor,
        sendIndex: p.sendIndex,
        state: p.state,
        fileSize: exists ? statSync(path).size : null,
        sha: exists && p.padId !== inbox.mainPad ? sha(readFileSync(path)) : null,
      };
      return fact;
    });
    emit({
      ...rec,
      ok: true,
      integrity,
      burnQueue,
      pads,
      received: engine.received(inbox.mainPad).map((r) => [r.start, r.end]),
      pool: counters,
      after: listing(layout.pads),
    });
    return { engine };
  } catch (e) {
    emit({ ...rec, ok: false, error: `check: ${errCode(e)}` });
    engine.close();
    return null;
  }
}

// --- workload -----------------------------------------------------------------------------------

const MARKER = 'ONEPAD-POWERCUT-CLEARTEXT';

function plaintextFor(rnd: SeededRandom, boot: number, n: number): Uint8Array {
  const head = `${MARKER} boot=${boot} seq=${n} `;
  const len = head.length + rnd.int(1, 400);
  const out = new Uint8Array(len);
  out.set(new TextEncoder().encode(head));
  for (let i = head.length; i < len; i++) out[i] = 0x61 + (i % 26);
  return out;
}

async function workload(inbox: Inbox, engine: DeviceEngine, maxOps = Number.POSITIVE_INFINITY): Promise<void> {
  const rnd = new SeededRandom(inbox.seed);
  const layout = dataDirLayout(dataDir);
  // One connection to the ledger, the engine's (it holds the data dir's exclusive lock).
  const db = engine.ledger.db;
  const pool = EntropyPool.open({ db, path: layout.pool, maxBytes: inbox.poolMaxBytes });
  const installLedger = engine.ledger;
  let filling: Promise<unknown> | null = null;
  const stop = new AbortController();
  const fill = () => {
    if (filling || stop.signal.aborted || pool.free() < 4 * inbox.installSize) return;
    // A source is closed at the end of a run: each run gets a new one, seeded afresh (never the same bytes twice).
    const filler = new Filler({
      sources: [new SimSource({ seed: bytesToHex(rnd.bytes(16)) })],
      pool,
      chunkBytes: 4096,
    });
    filling = filler
      .run({ signal: stop.signal })
      .then((r) => {
        if (r.state === 'failed') emit({ t: 'err', where: 'fill', code: errCode(r.error) });
      })
      .catch((e) => emit({ t: 'err', where: 'fill', code: errCode(e) }))
      .finally(() => {
        filling = null;
      });
  };
  let sent = 0;
  let next = 0;
  let installs = 0;
  emit({ t: 'go', boot: inbox.boot });
  for (let op = 0; op < maxOps; op++) {
    fill();
    const r = rnd.int(0, 10);
    try {
      if (r < 5) {
        const pt = plaintextFor(rnd, inbox.boot, sent++);
        const res = await engine.package('peer', pt);
        emit({ t: 'pkg', hex: bytesToHex(res.package) });
      } else if (r < 8) {
        const pkg = inbox.packages[next % Math.max(1, inbox.packages.length)];
        if (pkg !== undefined) {
          next++;
          try {
            const res = await engine.unpackage(hexToBytes(pkg.hex));
            emit({ t: 'recv', id: pkg.id, ok: true, sha: sha(res.plaintext ?? new Uint8Array()) });
          } catch (e) {
            emit({ t: 'recv', id: pkg.id, ok: false, code: errCode(e) });
          }
        }
      } else if (pool.available() >= inbox.installSize) {
        const padId = bytesToHex(rnd.bytes(16));
        const contact = `inst ${inbox.boot} ${installs++}`;
        emit({ t: 'install', padId, contact });
        const start = pool.counters().consumed;
        const draw = pool.take(inbox.installSize);
        emit({ t: 'draw', padId, start, hex: bytesToHex(draw.bytes) });
        installPad(
          dataDir,
          installLedger,
          null,
          { padId, contact, side: 'A', size: inbox.installSize, insecure: true },
          (chunk, off) => chunk.set(draw.bytes.subarray(off, off + chunk.length)),
        );
        draw.bytes.fill(0);
        emit({ t: 'installed', padId });
      }
    } catch (e) {
      emit({ t: 'err', where: 'workload', code: errCode(e) });
    }
    await new Promise((res) => setImmediate(res));
  }
  stop.abort();
  await filling;
  pool.close();
  engine.close();
}

/**
 * Run the checker and the workload on a throw-away data dir in /tmp (tmpfs) before the machine is saved, so that
 * every restored boot starts with the engine's code already compiled: under TCG a cold V8 takes seconds per path.
 */
async function warmUp(): Promise<void> {
  const root = '/tmp/warm';
  rmSync(root, { recursive: true, force: true });
  const { padId } = createPadPair({
    dirA: join(root, 'a'),
    dirB: join(root, 'b'),
    nameA: 'device',
    nameB: 'peer',
    size: 1 << 20,
    source: { kind: 'seeded', seed: 'warm-up' },
  });
  const peer = DeviceEngine.open({ config: parseConfig({ dataDir: join(root, 'b') }), confirmer: autoApprove });
  const packages: { id: number; hex: string }[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await peer.package('device', new TextEncoder().encode(`warm ${i}`));
    packages.push({ id: i, hex: bytesToHex(r.package) });
  }
  peer.close();
  const inbox: Inbox = {
    boot: -1,
    seed: 'warm-up',
    mainPad: padId,
    poolMaxBytes: 128 << 10,
    installSize: 4096,
    packages,
  };
  muted = true;
  dataDir = join(root, 'a');
  for (let round = 0; round < 3; round++) {
    const opened = check(inbox);
    if (opened) await workload(inbox, opened.engine, 150);
  }
  muted = false;
  dataDir = '/data/onepad';
  rmSync(root, { recursive: true, force: true });
}

await warmUp();
// Less for the saved state to hold: page cache that nothing maps.
execFileSync('sync');
try {
  writeFileSync('/proc/sys/vm/drop_caches', '3');
} catch {
  // not in the VM (a run on the host for debugging)
}
// Warm: the host saves the machine here, and every boot starts from this point with its own disks plugged in.
emit({ t: 'ready' });
// A hot-plugged disk shows in /sys before it can be read: retry until the inbox reads whole. Counted in tries,
// not by the clock: the restored machine's clock may jump when it resumes.
// Now and then a restored machine misses the hot-plug event itself (the disks never show in /sys): after 2 s of
// tries without them, and every 2 s after that, ask the kernel to rescan the PCI bus, which finds them.
let inbox: Inbox | null = null;
let rescans = 0;
for (let tries = 0; inbox === null; tries++) {
  try {
    if (existsSync('/sys/block/vdd')) inbox = readInbox(INBOX_DEV);
    else if (tries > 0 && tries % 200 === 0) {
      writeFileSync('/sys/bus/pci/rescan', '1');
      rescans++;
    }
  } catch (e) {
    if (tries > 6000) throw e;
  }
  if (inbox === null) await new Promise((r) => setTimeout(r, 10));
}
emit({ t: 'hello', boot: inbox.boot, rescans });
try {
  for (let tries = 0; ; tries++) {
    try {
      execFileSync('mount', ['-t', 'ext4', '-o', 'noatime', DATA_DEV, '/data'], { stdio: 'pipe' });
      break;
    } catch (e) {
      // Plugged before the inbox, so normally ready; a data disk that never mounts is a finding, reported below.
      if (tries > 200) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
} catch (e) {
  emit({
    t: 'check',
    boot: inbox.boot,
    ok: false,
    error: `data disk does not mount: ${String((e as { stderr?: Buffer }).stderr ?? e).slice(0, 200)}`,
  });
  emit({ t: 'done' });
  process.exit(0);
}
const opened = check(inbox);
if (opened) {
  if (inbox.checkOnly) {
    opened.engine.close();
    emit({ t: 'done' });
  } else {
    await workload(inbox, opened.engine);
  }
} else {
  emit({ t: 'done' });
}
