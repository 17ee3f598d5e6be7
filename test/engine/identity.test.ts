import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import {
  identityPath,
  needsSetup,
  readIdentity,
  SETUP_WORDS,
  withIdentity,
  writeIdentity,
} from '../../device/identity.js';

const dir = () => mkdtempSync(join(tmpdir(), 'onepad-id-'));

describe('device identity (first boot)', () => {
  it('is needed only when neither a saved identity nor a configured word exists', () => {
    const d = dir();
    expect(needsSetup(parseConfig({ dataDir: d }))).toBe(true);
    expect(needsSetup(parseConfig({ dataDir: d, device: { ownerWord: 'heron' } }))).toBe(false);
    writeIdentity(d, { name: 'pad-otter', ownerWord: 'lantern' });
    expect(needsSetup(parseConfig({ dataDir: d }))).toBe(false);
  });

  it('is saved 0600 and overrides the config, which stays frozen', () => {
    const d = dir();
    writeIdentity(d, { name: 'pad-otter', ownerWord: 'lantern' });
    expect(statSync(identityPath(d)).mode & 0o777).toBe(0o600);
    expect(readIdentity(d)).toEqual({ name: 'pad-otter', ownerWord: 'lantern' });
    const c = withIdentity(parseConfig({ dataDir: d, device: { name: 'onepad', simulated: true } }));
    expect(c.device).toMatchObject({ name: 'pad-otter', ownerWord: 'lantern', simulated: true });
    expect(Object.isFrozen(c) && Object.isFrozen(c.device)).toBe(true);
  });

  it('refuses bad values and a damaged file with coded errors', () => {
    const d = dir();
    expect(() => writeIdentity(d, { name: '', ownerWord: 'x' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => writeIdentity(d, { name: 'ok', ownerWord: 'Not a word' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    writeFileSync(identityPath(d), '{"name": 5}');
    expect(() => readIdentity(d)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('proposes distinct lowercase words', () => {
    expect(new Set(SETUP_WORDS).size).toBe(SETUP_WORDS.length);
    expect(SETUP_WORDS.length).toBeGreaterThanOrEqual(128);
    for (const w of SETUP_WORDS) expect(w).toMatch(/^[a-z]{1,24}$/);
  });
});
