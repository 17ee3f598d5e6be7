/**
 * Abandoning and burning pad files: unusable from the rename on, burned from the end with the file's length as
 * the persisted progress, resumable after a stop (signal) or a SIGKILL mid-step, and start-up recovery that only
 * renames, whatever the size.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { prepareDataDir } from '../../device/data-dir.js';
import { DeviceEngine } from '../../device/engine.js';
import { type BurnProgress, burnAbandoned, listBurning } from '../../device/pad-burner.js';
import { abandonPadFile, listPadFiles } from '../../device/pad-file.js';
import { burnLine, fillLine } from '../../display/device-screen.js';
import { SimStream } from '../../hrng/sim-source.js';
import { ScriptedConfirmer } from '../helpers/engine-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MIB = 1 << 20;
let root: string;
let pads: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'onepad-burn-'));
  pads = prepareDataDir(root).pads;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function padLike(name: string, size: number): { path: string; bytes: Uint8Array } {
  const bytes = new SimStream(name).next(size);
  const path = join(pads, name);
  writeFileSync(path, bytes, { mode: 0o600 });
  return { path, bytes };
}

const allZero = (b: Uint8Array) => b.every((x) => x === 0);

describe('abandoning and burning pad files', () => {
  it('a small file is burned at once; a big one is renamed .burn, which no pad listing or engine picks up', () => {
    padLike('0123456789abcdef0123456789abcdef.pad.tmp', 1000);
    expect(abandonPadFile(join(pads, '0123456789abcdef0123456789abcdef.pad.tmp'))).toBeNull();
    expect(readdirSync(pads)).toEqual([]);
    const { path } = padLike('fedcba9876543210fedcba9876543210.pad', 3 * MIB);
    const burning = abandonPadFile(path, MIB);
    expect(burning).toBe(`${path}.${3 * MIB}.burn`);
    expect(listPadFiles(pads)).toEqual({ ids: [], temporary: [] });
    expect(listBurning(pads)).toEqual([{ path: burning, total: 3 * MIB, left: 3 * MIB }]);
  });

  it('burns from the end, a step at a time; stopped, the untouched prefix is intact; resumed, the file is gone', async () => {
    const { path, bytes } = padLike('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.pad', 5 * MIB + 123);
    const burning = abandonPadFile(path, 0) as string;
    const ac = new AbortController();
    const seen: BurnProgress[] = [];
    const r = await burnAbandoned(pads, {
      stepBytes: MIB,
      signal: ac.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.bytes >= 2 * MIB) ac.abort();
      },
    });
    expect(r).toEqual({ complete: false });
    const left = statSync(burning).size;
    expect(left).toBe(5 * MIB + 123 - 2 * MIB); // two steps of 1 MiB from the end
    expect(Buffer.from(readFileSync(burning)).equals(Buffer.from(bytes.subarray(0, left)))).toBe(true);
    expect(seen[0]).toMatchObject({ bytes: 0, total: 5 * MIB + 123, files: 1 });
    // Resumed (another run: progress counts what the earlier run did), to the end.
    const again: BurnProgress[] = [];
    expect(await burnAbandoned(pads, { stepBytes: MIB, onProgress: (p) => again.push(p) })).toEqual({
      complete: true,
    });
    expect(again[0]?.bytes).toBe(5 * MIB + 123 - left);
    expect(again.at(-1)).toMatchObject({ bytes: 5 * MIB + 123, total: 5 * MIB + 123, secondsLeft: 0 });
    expect(readdirSync(pads)).toEqual([]);
  });

  it('SIGKILL mid-burn: the file only ever shrinks, what is left is the original prefix or zeros, and it resumes', async () => {
    const size = 48 * MIB;
    const { path, bytes } = padLike('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.pad', size);
    const burning = abandonPadFile(path, 0) as string;
    const lines = await new Promise<string[]>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/engine/burn-child.ts', pads, String(MIB)], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        out += d;
        if ((out.match(/^progress /gm)?.length ?? 0) >= 6) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('close', (_c, signal) =>
        signal === 'SIGKILL' ? resolve(out.split('\n')) : reject(new Error(`not killed: ${out}`)),
      );
    });
    const reported = lines.filter((l) => l.startsWith('progress ')).map((l) => Number(l.split(' ')[3]));
    for (let i = 1; i < reported.length; i++) expect(reported[i]).toBeLessThanOrEqual(reported[i - 1] as number);
    const left = statSync(burning).size;
    expect(left).toBeLessThan(size);
    expect(left).toBeLessThanOrEqual(reported.at(-1) as number);
    const now = readFileSync(burning);
    // A step cut by the kill may have zeroed its range before truncating: zeros there, the original before.
    let k = 0;
    while (k < left && now[k] === bytes[k]) k++;
    expect(allZero(now.subarray(k))).toBe(true);
    expect(left - k).toBeLessThanOrEqual(MIB);
    expect(await burnAbandoned(pads, { stepBytes: MIB })).toEqual({ complete: true });
    expect(readdirSync(pads)).toEqual([]);
  }, 60_000);

  it('start-up recovery renames a big orphan and a big partial pad, without writing them; the burn runs after', async () => {
    const orphan = padLike('cccccccccccccccccccccccccccccccc.pad', 80 * MIB);
    const partial = padLike('dddddddddddddddddddddddddddddddd.pad.tmp', 70 * MIB);
    const engine = DeviceEngine.open({
      config: parseConfig({ dataDir: root, device: { simulated: true } }),
      confirmer: new ScriptedConfirmer(),
    });
    try {
      // Right after open: both renamed, both whole (open wrote nothing into them), no pad.
      const files = listBurning(pads);
      expect(files.map((f) => [f.total, f.left])).toEqual([
        [80 * MIB, 80 * MIB],
        [70 * MIB, 70 * MIB],
      ]);
      expect(readFileSync(files[0]!.path).subarray(0, 4096)).toEqual(Buffer.from(orphan.bytes.subarray(0, 4096)));
      expect(readFileSync(files[1]!.path).subarray(0, 4096)).toEqual(Buffer.from(partial.bytes.subarray(0, 4096)));
      expect(engine.pads()).toEqual([]);
      expect(listPadFiles(pads)).toEqual({ ids: [], temporary: [] });
      await engine.burnSettled();
      expect(readdirSync(pads)).toEqual([]);
      expect(engine.burnProgress()).toBeNull();
      expect(engine.events.recent(10, ['CRASH_RECOVERY'])[0]?.detail).toMatchObject({ orphanPads: 1, partialPads: 1 });
    } finally {
      engine.close();
    }
  }, 60_000);

  it('`pad burn` stopped by SIGTERM: exits CANCELLED with the prefix intact and still .burn; run again, it finishes', async () => {
    const size = 640 * MIB; // ten 64 MiB steps: SIGTERM lands mid-way
    const path = join(pads, 'cccccccccccccccccccccccccccccccc.pad');
    const head = new SimStream('term').next(MIB);
    writeFileSync(path, head, { mode: 0o600 });
    truncateSync(path, size); // the rest sparse: the burn writes it all the same
    const burning = abandonPadFile(path, 0) as string;
    const run = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'device/service/main.ts', 'pad', 'burn', '--dir', root],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let err = '';
      let sent = false;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        err += d;
        // The first progress line with bytes done: the burn is under way.
        if (!sent && /burn: [1-9][\d.]* MB of/.test(err)) {
          sent = true;
          child.kill('SIGTERM');
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, err }));
    });
    expect(run.code, run.err).toBe(2);
    expect(run.err).toContain('CANCELLED');
    expect(run.err).toMatch(/burn: .* of .*MB\/s, .* left/);
    // Stopped after a step: shorter, still .burn (never a pad again), the untouched prefix as it was.
    const left = statSync(burning).size;
    expect(left).toBeLessThan(size);
    expect(left).toBeGreaterThan(0);
    expect(listBurning(pads)).toHaveLength(1);
    expect(listPadFiles(pads)).toEqual({ ids: [], temporary: [] });
    expect(Buffer.from(readFileSync(burning).subarray(0, MIB)).equals(Buffer.from(head))).toBe(true);
    expect(await burnAbandoned(pads)).toEqual({ complete: true });
    expect(readdirSync(pads)).toEqual([]);
  }, 180_000);

  it('the home screen line says what share is burned and how long is left', () => {
    expect(burnLine({ bytes: 45, total: 100, bytesPerSecond: 1, secondsLeft: 185, files: 1 })).toBe(
      'burning old pad 45%, 3 min 05 s left',
    );
    expect(burnLine({ bytes: 0, total: 100, bytesPerSecond: 0, secondsLeft: Infinity, files: 1 })).toBe(
      'burning old pad 0%, ? left',
    );
  });

  it('the home screen line while the pool fills says its share, the measured source rate and the time to full', () => {
    const p = { state: 'running', poolBytes: 42e6, capacity: 100e6, bytesPerSecond: 52_000, secondsToFull: 11_154 };
    expect(fillLine(p)).toBe('filling pool 42%, 52 kB/s, full in 3 h 05 min');
    expect(fillLine({ ...p, secondsToFull: null })).toBe('filling pool 42%, 52 kB/s, full in ?');
    // Not filling, or full: no line.
    expect(fillLine({ ...p, state: 'full' })).toBeNull();
    expect(fillLine({ ...p, state: 'stopped' })).toBeNull();
    expect(fillLine({ ...p, poolBytes: 100e6 })).toBeNull();
  });

  it('close stops the background burn after its step; the next open resumes it', async () => {
    padLike('eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.pad', 96 * MIB);
    const config = parseConfig({ dataDir: root, device: { simulated: true } });
    let e1: DeviceEngine | null = null;
    let stepped!: () => void;
    const firstStep = new Promise<void>((resolve) => {
      stepped = resolve;
    });
    e1 = DeviceEngine.open({
      config,
      confirmer: new ScriptedConfirmer(),
      // Close as soon as the first step is done: the burn must stop before the next one.
      onBurnProgress: (p) => {
        if (p.bytes > 0 && e1) {
          e1.close();
          stepped();
        }
      },
    });
    await firstStep;
    await e1.burnSettled();
    const left = listBurning(pads)[0]?.left ?? 0;
    expect(left).toBe(32 * MIB); // one 64 MiB step done
    const seen: number[] = [];
    const e2 = DeviceEngine.open({
      config,
      confirmer: new ScriptedConfirmer(),
      onBurnProgress: (p) => seen.push(p.bytes),
    });
    try {
      await e2.burnSettled();
      expect(seen).toEqual([64 * MIB, 96 * MIB]); // resumed where the first left off
      expect(readdirSync(pads)).toEqual([]);
    } finally {
      e2.close();
    }
  }, 60_000);
});
