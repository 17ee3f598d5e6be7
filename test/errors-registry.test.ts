import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, errorCodes, OnepadError } from '../device/errors.js';
import { EVENT_KINDS } from '../device/events.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const [codesPart, eventsPart = ''] = doc.split(/^## Events$/m);
const rows = [...(codesPart ?? '').matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => ({
  code: m[1]!,
  status: Number(m[2]),
}));
const events = [...eventsPart.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]!);

describe('errors registry and docs/errors.md', () => {
  it('every registered code is documented once, with its HTTP status', () => {
    for (const code of errorCodes()) {
      const found = rows.filter((r) => r.code === code);
      expect(found, `${code} documented`).toHaveLength(1);
      expect(found[0]?.status, `${code} status`).toBe(ERRORS[code].status);
    }
  });

  it('every documented code exists in the registry', () => {
    for (const r of rows) expect(errorCodes(), `${r.code} registered`).toContain(r.code);
  });

  it('every event kind is documented, and every documented event exists', () => {
    expect([...events].sort()).toEqual([...EVENT_KINDS].sort());
  });

  it('errors carry code, status and frozen non-secret details', () => {
    const e = new OnepadError('PAD_EXHAUSTED', { remaining: 3 });
    expect(e.code).toBe('PAD_EXHAUSTED');
    expect(e.status).toBe(409);
    expect(Object.isFrozen(e.details)).toBe(true);
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      code: 'PAD_EXHAUSTED',
      message: e.message,
      details: { remaining: 3 },
    });
  });
});
