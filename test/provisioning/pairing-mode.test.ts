/**
 * The device service's side of pairing mode (provisioning/pairing-mode.ts): the request file it writes for
 * onepad-pairing.path, with the service's UMask 0077 in force, and how it fails.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { noPairingMode, pairingModeFor, requestFilePairingMode } from '../../provisioning/pairing-mode.js';

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
});
