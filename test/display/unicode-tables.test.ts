import { readFileSync } from 'node:fs';
import * as fontkit from 'fontkit';
import { describe, expect, it } from 'vitest';
import { drawable, escapeName, isMark, terminalEscapes } from '../../display/unicode/classify.js';
import { buildTables, encodeTables, SANS_FILE } from '../../display/unicode/generate.js';
import { MARKER_CHARS } from '../../display/unicode/repertoire.js';
import * as committed from '../../display/unicode/tables.js';

describe('unicode tables', () => {
  it('are what the generator makes from the shipped font and the Unicode data (run `npm run unicode-tables`)', async () => {
    const fresh = encodeTables(await buildTables());
    expect({ ...committed }).toEqual(fresh);
  }, 300_000);

  it('every repertoire code point has a real glyph (not .notdef, not empty) in the shipped font', () => {
    const font = fontkit.create(readFileSync(SANS_FILE));
    if (!('glyphForCodePoint' in font)) throw new Error('not a single font');
    let n = 0;
    for (let cp = 0; cp < 0x110000; cp++) {
      if (!drawable(cp)) continue;
      n++;
      const g = font.glyphForCodePoint(cp);
      expect(g.id, cp.toString(16)).not.toBe(0);
      expect(g.path.commands.length, cp.toString(16)).toBeGreaterThan(0);
    }
    expect(n).toBeGreaterThan(1000);
  });

  it('the mono font draws every character of an escape, and the sans font every marker', () => {
    const mono = fontkit.create(readFileSync(SANS_FILE.replace('DejaVuSans.ttf', 'DejaVuSansMono.ttf')));
    const sans = fontkit.create(readFileSync(SANS_FILE));
    if (!('glyphForCodePoint' in mono) || !('glyphForCodePoint' in sans)) throw new Error('not a single font');
    for (const ch of '⟨⟩U+0123456789ABCDEFTABCRNSPHYZWJLMO')
      expect(mono.glyphForCodePoint(ch.codePointAt(0)!).id, ch).not.toBe(0);
    for (const ch of `${MARKER_CHARS}·`) expect(sans.glyphForCodePoint(ch.codePointAt(0)!).id, ch).not.toBe(0);
  });

  it('draws letters of the chosen scripts, and no invisible, twin, duplicate or marker code point', () => {
    for (const ch of ['a', 'Z', '5', 'é', 'ß', 'ș', 'α', 'Ω', 'ж', 'а', 'א', '€', '“', '—']) {
      expect(drawable(ch.codePointAt(0)!), ch).not.toBeNull();
    }
    expect(drawable('а'.codePointAt(0)!)?.tint).toBe(2);
    expect(drawable('α'.codePointAt(0)!)?.tint).toBe(1);
    expect(drawable('א'.codePointAt(0)!)).toMatchObject({ tint: 3, rtl: true, letter: true });
    expect(drawable(0x0301)).toMatchObject({ mark: true });
    const never = [
      0x20,
      0x0a,
      0x09,
      0xa0,
      0xad,
      0x34f,
      0x180e,
      0x200b,
      0x200d,
      0x202e,
      0x2066,
      0xfeff,
      0xfe0f,
      0xe0041,
      0xe0100,
      0x2010, // same drawing as '-'
      0x0110, // same drawing as 'Ð'
      0x212b, // Ångström sign (NFC: Å)
      0x2026, // … (NFKC: ...)
      0x037e, // Greek question mark (NFC: ;)
      0x01c0, // click letter, imitates l
      0x0627, // Arabic: needs shaping, left out
      0x1f44d,
      0x540c,
      0xe000,
      0x10ffff,
    ];
    for (const cp of never) expect(drawable(cp), cp.toString(16)).toBeNull();
    for (const ch of MARKER_CHARS) expect(drawable(ch.codePointAt(0)!), ch).toBeNull();
  });

  it('the terminal escapes controls, format and ignorable characters, odd spaces and right-to-left letters', () => {
    for (const cp of [0x00, 0x1b, 0x7f, 0x9b, 0x0a, 0x09, 0xa0, 0xad, 0x200e, 0x202e, 0x2067, 0xe0041, 0xfe0f, 0x5d0]) {
      expect(terminalEscapes(cp), cp.toString(16)).toBe(true);
    }
    for (const ch of ['a', ' ', 'é', 'ж', '同', '👍']) expect(terminalEscapes(ch.codePointAt(0)!), ch).toBe(false);
    expect(isMark(0x0301)).toBe(true);
    expect(isMark(0x61)).toBe(false);
    expect(escapeName(0x09)).toBe('TAB');
    expect(escapeName(0xe0041)).toBe('U+E0041');
    expect(escapeName(0x41)).toBe('U+0041');
  });
});
