/**
 * Contact names that look alike are refused: by the check the naming screen uses, and by the ledger itself when a
 * pad is added. The look-alike classes are taken from the confusables data (unhomoglyph's confusables.txt), not
 * typed here, so the property test tries every substitution that data knows within the name alphabet.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import data from 'unhomoglyph/data.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { contactNameProblem } from '../../device/contact-names.js';
import { Ledger } from '../../device/ledger/ledger.js';
import { looksAlike, skeleton } from '../../device/lookalike.js';

const ALPHABET = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._@-'];
const confusables = data as Record<string, string>;

/** Groups of strings over the name alphabet that the data maps to one prototype (e.g. l, 1, I; m, rn). */
function classes(): string[][] {
  const byProto = new Map<string, Set<string>>();
  const add = (proto: string, s: string) => {
    const set = byProto.get(proto) ?? new Set([proto]);
    byProto.set(proto, set);
    set.add(s);
  };
  for (const [from, to] of Object.entries(confusables)) {
    const inAlphabet = (s: string) => [...s].every((c) => ALPHABET.includes(c));
    if (inAlphabet(from) && inAlphabet(to)) add(to, from);
  }
  return [...byProto.values()].map((s) => [...s]).filter((s) => s.length > 1);
}

const CLASSES = classes();

describe('look-alike contact names (TR39 skeletons)', () => {
  it('the data knows the classic ASCII look-alikes', () => {
    const flat = CLASSES.map((c) => c.sort().join(','));
    expect(flat).toContain(['1', 'I', 'l'].sort().join(','));
    expect(flat.some((c) => c.includes('rn') && c.includes('m'))).toBe(true);
    expect(flat.some((c) => c.includes('0') && c.includes('O'))).toBe(true);
  });

  it('skeletons are TR39: Cyrillic and Greek look-alikes of Latin letters collapse', () => {
    expect(skeleton('p\u0430ypal')).toBe(skeleton('paypal'));
    expect(skeleton('\u0391lice')).toBe(skeleton('Alice'));
    expect(skeleton('Kim')).toBe(skeleton('Kirn'));
  });

  it('names that differ by case, by a look-alike or by repeated spaces collide; different names do not', () => {
    for (const [a, b] of [
      ['Alice', 'AIice'],
      ['Alice', 'alice'],
      ['Bob', 'B0b'],
      ['Kim', 'Kirn'],
      ['Ann Lee', 'Ann  Lee'],
      ['bill', 'bi11'],
    ] as const) {
      expect(looksAlike(a, b), `${a} ~ ${b}`).toBe(true);
      if (!b.includes('  ')) expect(contactNameProblem(b, [a])).toEqual({ reason: 'lookalike', other: a });
    }
    expect(contactNameProblem('Ann  Lee', [])).toMatchObject({ reason: 'invalid' });
    expect(contactNameProblem('Alice', ['Alicia', 'Bob', 'Al1'])).toBeNull();
    expect(looksAlike('Ann', 'Anna')).toBe(false);
    expect(contactNameProblem('Bob', ['Bob'])).toEqual({ reason: 'taken', other: 'Bob' });
    expect(contactNameProblem('Bob', ['Bob'], () => true)).toBeNull();
    expect(contactNameProblem('Bob ', [])).toMatchObject({ reason: 'invalid' });
    expect(contactNameProblem('', [])).toMatchObject({ reason: 'invalid' });
    expect(contactNameProblem('p\u0430ypal', [])).toMatchObject({ reason: 'invalid' });
  });

  it('property: any substitution the confusables data knows is caught, and so is any change of case', () => {
    const name = fc
      .array(fc.constantFrom(...ALPHABET.filter((c) => c !== ' ')), { minLength: 1, maxLength: 20 })
      .map((cs) => cs.join(''))
      .filter((s) => /^[A-Za-z0-9]/.test(s));
    fc.assert(
      fc.property(name, fc.boolean(), fc.array(fc.nat()), fc.array(fc.boolean()), (base, swap, picks, cases) => {
        let out = '';
        let i = 0;
        for (let at = 0; at < base.length; ) {
          const cls = CLASSES.find((c) => c.some((s) => base.startsWith(s, at)));
          const here = cls?.find((s) => base.startsWith(s, at));
          if (swap && cls && here) {
            const k = picks[i++ % Math.max(1, picks.length)] ?? 0;
            out += cls[k % cls.length];
            at += here.length;
          } else {
            const c = base[at] as string;
            out += !swap && cases[at % Math.max(1, cases.length)] ? c.toUpperCase() : c;
            at++;
          }
        }
        expect(looksAlike(out, base), `${out} ~ ${base}`).toBe(true);
        if (out !== base && /^[A-Za-z0-9]/.test(out) && out.length <= 64) {
          expect(contactNameProblem(out, [base])).toEqual({ reason: 'lookalike', other: base });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the ledger refuses a pad whose contact looks like another; a retired pad no longer counts', () => {
    const ledger = Ledger.open(join(mkdtempSync(join(tmpdir(), 'onepad-names-')), 'ledger.db'));
    const pad = (n: number, contact: string) => ({
      padId: n.toString(16).padStart(32, '0'),
      contact,
      side: 'A' as const,
      size: 4096,
      split: 2048,
      keySlotsA: 16,
      keySlotsB: 16,
      insecure: false,
      createdAt: n,
    });
    ledger.insertPad(pad(1, 'Alice'));
    expect(() => ledger.insertPad(pad(2, 'AIice'))).toThrow(expect.objectContaining({ code: 'CONTACT_LOOKALIKE' }));
    expect(() => ledger.insertPad(pad(3, 'alice'))).toThrow(expect.objectContaining({ code: 'CONTACT_LOOKALIKE' }));
    expect(() => ledger.insertPad(pad(4, 'Alice'))).toThrow(expect.objectContaining({ code: 'CONTACT_EXISTS' }));
    expect(ledger.pads().map((p) => p.contact)).toEqual(['Alice']);
    ledger.retirePad(pad(1, 'Alice').padId);
    ledger.insertPad(pad(5, 'alice'));
    expect(ledger.lookalikeOf('ALICE')).toBe('alice');
    ledger.close();
  });
});
