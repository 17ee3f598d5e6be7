/**
 * Stop and Resume on the home screen for the device's background jobs: filling the pool from the HRNG and burning
 * an abandoned pad. The real device screen (simulated panel, taps), engine and hosted filler in this process.
 * Stop: the burn stops after its step in progress (the file stays abandoned, shorter by whole steps), the fill run
 * ends as on SIGTERM, home says both stopped and offers Resume; Resume: the burn finishes and filling goes on.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { prepareDataDir } from '../../device/data-dir.js';
import { DeviceEngine } from '../../device/engine.js';
import { startHosted } from '../../device/service/hosted.js';
import { holdButton, waitForScreen } from '../../device/service/simulator/touch.js';
import { openDeviceScreen } from '../../display/device-screen.js';

const MIB = 1 << 20;
/** The burner's step (device/pad-burner.ts). */
const STEP = 64 * MIB;
const SIZE = 4 * STEP;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'onepad-jobs-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function until(f: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Stop and Resume on home: filling the pool and burning an abandoned pad', () => {
  it.each(['touch-800x480', 'keys-240x240'] as const)(
    'on %s',
    async (layout) => {
      const dataDir = join(root, 'dev');
      const pads = prepareDataDir(dataDir).pads;
      // An abandoned pad: four burn steps of a pattern (not zeros), as a stopped pairing leaves one.
      const burning = join(pads, `0123456789abcdef0123456789abcdef.pad.${SIZE}.burn`);
      writeFileSync(burning, Buffer.alloc(SIZE, 0x5a));
      const config = parseConfig({
        dataDir,
        device: { name: 'alice', simulated: true },
        hrng: { sources: [{ kind: 'simulated', seed: 'jobs' }], poolMaxBytes: 64 * MIB },
        display: { sink: 'sim', input: 'sim', layout },
      });
      const screen = await openDeviceScreen(config, 'simulated');
      const engine = DeviceEngine.open({ config, confirmer: screen.confirmer });
      screen.attachEngine(engine);
      const log: string[] = [];
      const hosted = startHosted({
        config,
        engine,
        screen,
        simulated: true,
        pairing: false,
        refillIdleMs: 100,
        log: (l) => log.push(l),
      });
      const filled = () => hosted.pool.counters().filled;
      const buttons = () => screen.ui.debugLayout()?.buttons.map((b) => b.id) ?? [];
      // A tap on the touchscreen, or the button's key on the keys layout.
      const press = async (id: string) => {
        const key = screen.ui.debugLayout()?.buttons.find((b) => b.id === id)?.key;
        if (layout === 'touch-800x480' || !key) return holdButton(screen, id, 20);
        screen.sim?.input.key(key, 'down');
        await new Promise((r) => setTimeout(r, 20));
        screen.sim?.input.key(key, 'up');
      };
      const texts = () => (screen.ui.debugLayout()?.texts ?? []).map((t) => t.text).join('\n');
      try {
        await waitForScreen(screen, 'home');
        // Both jobs under way: a step burned, bytes in the pool; home offers Stop.
        await until(() => statSync(burning).size < SIZE && filled() > 0, 'a burn step and pool bytes');
        await until(() => buttons().includes('jobs-stop'), 'the Stop button');
        await press('jobs-stop');
        await hosted.jobsSettled();
        const left = statSync(burning).size;
        const afterStop = filled();
        // Stopped after the step in progress: still abandoned (.burn, never a pad), shorter by whole steps.
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThan(SIZE);
        expect(left % STEP).toBe(0);
        expect(engine.pads()).toEqual([]);
        expect(readdirSync(pads)).toEqual([`0123456789abcdef0123456789abcdef.pad.${SIZE}.burn`]);
        // The pool counts what was appended; the filler no longer runs.
        expect(hosted.pool.counters()).toMatchObject({ consumed: 0, filled: afterStop });
        await until(() => buttons().includes('jobs-resume'), 'the Resume button');
        expect(buttons()).not.toContain('jobs-stop');
        expect(texts()).toContain(`burn stopped at ${Math.floor((100 * (SIZE - left)) / SIZE)}%`);
        expect(texts()).toContain('pool filling stopped');
        expect(log).toContain('background jobs stopped by the owner');
        // Nothing moves while stopped (waited for: neither the burn nor the filler starts again on its own).
        await new Promise((r) => setTimeout(r, 500));
        expect(statSync(burning).size).toBe(left);
        expect(filled()).toBe(afterStop);
        // A failed pairing asks the engine to burn what it abandoned: still stopped.
        engine.startBurning();
        await engine.burnSettled();
        expect(statSync(burning).size).toBe(left);

        await press('jobs-resume');
        // Resumed: the burn goes on from where it stopped and finishes; filling goes on.
        await until(() => readdirSync(pads).length === 0, 'the burn to finish');
        await until(() => filled() > afterStop, 'more pool bytes');
        await until(() => !buttons().includes('jobs-resume'), 'Resume to go');
        expect(log).toContain('background jobs resumed by the owner');
      } finally {
        await hosted.stop();
        engine.close();
        await screen.close();
      }
    },
    120_000,
  );
});
