import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../device/config/config.js';
import { OnepadError } from '../../device/errors.js';

function fieldOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OnepadError);
    expect((e as OnepadError).code).toBe('CONFIG_INVALID');
    return (e as OnepadError).details.field as string;
  }
  return undefined;
}

describe('config', () => {
  it('fills defaults and freezes the whole object', () => {
    const c = parseConfig({ dataDir: '/tmp/x' });
    expect(c.engine.burn).toBe(true);
    expect(c.confirm.timeoutMs).toBe(60000);
    expect(c.device.simulated).toBe(false);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.engine)).toBe(true);
    expect(() => {
      (c.engine as { burn: boolean }).burn = false;
    }).toThrow(TypeError);
  });

  it('resolves a relative dataDir against the config file directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-cfg-'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ dataDir: 'data' }));
    expect(loadConfig(join(dir, 'c.json')).dataDir).toBe(join(dir, 'data'));
  });

  it('fails fast naming the bad field', () => {
    expect(fieldOf(() => parseConfig({}))).toBe('dataDir');
    expect(fieldOf(() => parseConfig({ dataDir: 'x', engine: { burn: 'yes' } }))).toBe('engine.burn');
    expect(fieldOf(() => parseConfig({ dataDir: 'x', engine: { burnn: true } }))).toBe('engine.burnn');
    expect(fieldOf(() => parseConfig({ dataDir: 'x', extra: 1 }))).toBe('extra');
    expect(fieldOf(() => parseConfig({ dataDir: 'x', confirm: { timeoutMs: 5 } }))).toBe('confirm.timeoutMs');
    expect(fieldOf(() => parseConfig('nope'))).toBe('(root)');
    expect(fieldOf(() => loadConfig('/nonexistent/onepad.json'))).toBe('(file)');
    const dir = mkdtempSync(join(tmpdir(), 'onepad-cfg-'));
    writeFileSync(join(dir, 'bad.json'), '{not json');
    expect(fieldOf(() => loadConfig(join(dir, 'bad.json')))).toBe('(file)');
  });

  it('any JSON value either parses to a frozen config or fails with CONFIG_INVALID', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          const c = parseConfig(v);
          expect(Object.isFrozen(c)).toBe(true);
        } catch (e) {
          expect((e as OnepadError).code).toBe('CONFIG_INVALID');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not modify the object it was given', () => {
    const raw = { dataDir: 'x', engine: {} };
    parseConfig(raw);
    expect(raw).toEqual({ dataDir: 'x', engine: {} });
  });
});
