import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatSeconds,
  groupDigits,
  paginate,
  REPLACEMENT,
  showMessage,
  wrapText,
} from '../../display/text.js';

const enc = (s: string) => new TextEncoder().encode(s);
// A monospace stand-in for measureText: every code point is 1 wide.
const width = (s: string) => Array.from(s).length;

describe('showMessage', () => {
  it('keeps plain text and newlines, turns tabs and CRLF into spaces and LF', () => {
    expect(showMessage(enc('a\tb\r\nc'))).toEqual({ text: 'a  b\nc', binary: false, replaced: false });
  });

  it('replaces controls, bidi overrides and zero-width characters', () => {
    for (const ch of [
      '\u0000',
      '\u0007',
      '\u001b',
      '\u007f',
      '\u0085',
      '\u202e',
      '\u2066',
      '\u200b',
      '\u200f',
      '\ufeff',
      '\u2028',
    ]) {
      const r = showMessage(enc(`x${ch}y`));
      expect(r.text, JSON.stringify(ch)).toBe(`x${REPLACEMENT}y`);
      expect(r.replaced).toBe(true);
    }
  });

  it('shows invalid UTF-8 as hex, 16 bytes a line', () => {
    const bytes = Uint8Array.from({ length: 20 }, (_, i) => 0x80 + i);
    const r = showMessage(bytes);
    expect(r.binary).toBe(true);
    expect(r.text.split('\n')).toEqual(['80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f', '90 91 92 93']);
  });

  it('never lets a hidden character through (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const r = showMessage(enc(s));
        expect(
          /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/.test(r.text),
        ).toBe(false);
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
