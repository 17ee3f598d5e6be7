/**
 * The device service's side of pairing mode (provisioning/pairing-mode.ts): the request file it writes for
 * onepad-pairing.path, with the service's UMask 0077 in force, and how it fails.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { noPairingMode, pairingModeFor, requestFilePairingMode } from '../../provisioning/pairing-mode.js';

const HELPER = fileURLToPath(new URL('../../systemd/onepad-pairing-mode', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'onepad-pairmode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pairing-mode requests', () => {
  it('writes exactly "open\\n" then "close\\n", group-readable (0640) despite UMask 0077, nothing left beside', () => {
    const path = join(dir, 'pairing-request');
    const old = process.umask(0o077);
    try {
      const mode = requestFilePairingMode(path);
      mode.open();
      expect(readFileSync(path, 'utf8')).toBe('open\n');
      expect(statSync(path).mode & 0o777).toBe(0o640);
      mode.close();
      expect(readFileSync(path, 'utf8')).toBe('close\n');
      expect(statSync(path).mode & 0o777).toBe(0o640);
      expect(readdirSync(dir)).toEqual(['pairing-request']);
    } finally {
      process.umask(old);
    }
  });

  it('renews an open request until closed', async () => {
    const path = join(dir, 'renewed');
    const mode = requestFilePairingMode(path, 50);
    mode.open();
    const first = statSync(path).mtimeMs;
    const inode = statSync(path).ino;
    // Each renewal (every 50 ms here) replaces the file (a new inode: the path unit sees it change). Waited for,
    // up to 10 s: a loaded machine runs the renewal timer late.
    const until = Date.now() + 10_000;
    while (statSync(path).ino === inode && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    expect(statSync(path).ino).not.toBe(inode);
    expect(statSync(path).mtimeMs).toBeGreaterThanOrEqual(first);
    mode.close();
    const closed = statSync(path).ino;
    await new Promise((r) => setTimeout(r, 200));
    expect(statSync(path).ino).toBe(closed);
    expect(readFileSync(path, 'utf8')).toBe('close\n');
  });

  it('a request that cannot be written is PAIRING_MODE_FAILED; closing never throws', () => {
    const mode = requestFilePairingMode(join(dir, 'missing-dir', 'pairing-request'));
    expect(() => mode.open()).toThrow(expect.objectContaining({ code: 'PAIRING_MODE_FAILED' }));
    expect(() => mode.close()).not.toThrow();
  });

  it('follows the config: no request file configured, nothing to ask', () => {
    expect(pairingModeFor(parseConfig({ dataDir: dir }).pairing)).toBe(noPairingMode);
    expect(() => parseConfig({ dataDir: dir, pairing: { modeRequest: 'relative/path' } })).toThrow();
  });

  /**
   * onepad-pairing.path as systemd runs it: a change of the request starts the helper (the image's own script,
   * with an `nft` that only records which ruleset it was given) when no run is active; a change made while a run
   * is active, or after it ended but before systemd has seen that, is dropped (systemd/systemd#5770). Here the
   * first run's end is held open until the test lets it go, so the close written meanwhile is surely lost.
   */
  async function lostClose(resendMs: readonly number[], waitMs = 10_000): Promise<string[]> {
    const d = mkdtempSync(join(dir, 'lost-'));
    const bin = join(d, 'bin');
    mkdirSync(bin);
    const applied = join(d, 'applied');
    writeFileSync(join(bin, 'nft'), `#!/bin/sh\nbasename "$2" .nft >>'${applied}'\n`, { mode: 0o755 });
    writeFileSync(applied, '');
    const request = join(d, 'req', 'pairing-request');
    mkdirSync(join(d, 'req'));
    let running = false;
    let runs = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let dropped: () => void = () => {};
    const aChangeDropped = new Promise<void>((r) => {
      dropped = r;
    });
    let firstEnded: () => void = () => {};
    const ended = new Promise<void>((r) => {
      firstEnded = r;
    });
    const run = () => {
      running = true;
      runs += 1;
      const n = runs;
      execFile(
        'sh',
        [HELPER],
        { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ONEPAD_PAIRING_REQUEST: request } },
        async () => {
          if (n === 1) {
            firstEnded();
            await held;
          }
          running = false;
        },
      );
    };
    const w = watch(join(d, 'req'), (_e, name) => {
      if (name !== 'pairing-request') return;
      if (running) dropped();
      else run();
    });
    try {
      const mode = requestFilePairingMode(request, 3_600_000, resendMs);
      mode.open();
      await ended;
      mode.close();
      // systemd lets the run end only once it has dropped that change.
      await Promise.race([aChangeDropped, new Promise((r) => setTimeout(r, 5000))]);
      release();
      // Until the helper applied a close, or waitMs (a loaded machine runs timers and children late).
      const until = Date.now() + waitMs;
      const last = () => readFileSync(applied, 'utf8').trim().split('\n').at(-1);
      while (last() !== 'pairing-close' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      return readFileSync(applied, 'utf8').trim().split('\n');
    } finally {
      w.close();
    }
  }

  it('a close that systemd drops (written as the helper ends) is applied by a copy of it written later', async () => {
    const applied = await lostClose([100, 300, 600]);
    expect(applied[0]).toBe('pairing-open');
    expect(applied.at(-1)).toBe('pairing-close');
  });

  it('(control) without the copies the same close is lost and pairing mode stays open', async () => {
    expect(await lostClose([], 1500)).toEqual(['pairing-open']);
  });
});
