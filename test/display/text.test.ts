import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, formatBytes, formatSeconds, groupDigits, paginate, wrapText } from '../../display/text.js';

const enc = (s: string) => new TextEncoder().encode(s);
// A monospace stand-in for measureText: every code point is 1 wide.
const width = (s: string) => Array.from(s).length;

describe('decodeMessage', () => {
  it('decodes UTF-8 exactly: nothing replaced, removed or normalised (the faithful renderer shows it all)', () => {
    for (const t of ['a\tb\r\nc', '\ufeffBOM', 'e\u0301', '\u202egnp', '\u{e0041}']) {
      expect(decodeMessage(enc(t))).toEqual({ text: t, binary: false });
    }
  });

  it('shows invalid UTF-8 (and encoded surrogates) as hex pairs', () => {
    const bytes = Uint8Array.from({ length: 20 }, (_, i) => 0x80 + i);
    const r = decodeMessage(bytes);
    expect(r.binary).toBe(true);
    expect(r.text).toBe(Array.from(bytes, (b) => b.toString(16)).join(' '));
    expect(decodeMessage(Uint8Array.of(0xed, 0xa0, 0x80))).toEqual({ text: 'ed a0 80', binary: true });
  });

  it('round-trips every valid text and every byte string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(decodeMessage(enc(s)).text).toBe(s);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array(), (b) => {
        const r = decodeMessage(b);
        const back = r.binary ? Uint8Array.from(r.text.split(' '), (h) => Number.parseInt(h, 16)) : enc(r.text);
        expect(Array.from(back)).toEqual(Array.from(b));
      }),
    );
  });
});

describe('wrapText and paginate', () => {
  it('wraps at spaces and breaks long words', () => {
    expect(wrapText('aaa bbb ccc', 7, width)).toEqual(['aaa bbb', 'ccc']);
    expect(wrapText('abcdefghij', 4, width)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapText('a\n\nb', 10, width)).toEqual(['a', '', 'b']);
  });

  it('every line fits and no visible character is lost or reordered (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', 'é', '😀') }),
        fc.integer({ min: 2, max: 30 }),
        (s, w) => {
          const lines = wrapText(s, w, width);
          for (const line of lines) expect(width(line)).toBeLessThanOrEqual(w);
          expect(lines.join('').replace(/[ \n]/g, '')).toBe(s.replace(/[ \n]/g, ''));
        },
      ),
    );
  });

  it('paginates into pages of at most n lines, always at least one page', () => {
    expect(paginate([], 3)).toEqual([[]]);
    expect(paginate(['1', '2', '3', '4'], 3)).toEqual([['1', '2', '3'], ['4']]);
  });

  it('formats numbers for people', () => {
    expect(groupDigits(1234567)).toBe('1,234,567');
    expect(groupDigits(999)).toBe('999');
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(12_800)).toBe('12.5 KiB');
    expect(formatSeconds(185)).toBe('3 min 05 s');
    expect(formatSeconds(3720)).toBe('1 h 02 min');
  });
});
