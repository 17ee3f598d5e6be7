/**
 * Exhaustive, in pixels: no two glyph cells the faithful renderer can draw look the same, on either layout,
 * counting only the pixels no clip or later box can hide (display/unicode/cell-pixels.ts), and in the panel's
 * RGB565. The property test (faithful-pixels.test.ts) samples messages; this covers every cell.
 */
import { describe, expect, it } from 'vitest';
import { LAYOUTS } from '../../display/layout.js';
import { cellPixels, inkOutside } from '../../display/unicode/cell-pixels.js';
import { glyphCells } from './cells.js';

const hex = (s: string) => Array.from(s, (c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase()}`).join(' ');

describe('every glyph cell', () => {
  const cells = glyphCells();

  it('is many: the repertoire alone and with its marks', () => {
    expect(cells.length).toBeGreaterThan(30_000);
    // Marks on letters with an accent, on symbols, overlays and double marks are escapes, not cells.
    for (const t of ['\u1e25\u0319', '\u20ae\u0304', 'o\u0338', 'a\u0361', '\u0430\u05bc', '\u05d5\u0301'])
      expect(
        cells.some((c) => c.text === t),
        hex(t),
      ).toBe(false);
    for (const t of ['q\u0301', '\u05d1\u05b8', 'q\u0323', '\u0444\u0301'])
      expect(
        cells.some((c) => c.text === t),
        hex(t),
      ).toBe(true);
  });

  for (const layout of Object.values(LAYOUTS)) {
    it(`looks unlike every other one and keeps its ink in its room, ${layout.id}`, () => {
      const draw = cellPixels(layout);
      const visible = new Map<string, string>();
      const boxed = new Map<string, string>();
      const alike: string[] = [];
      const outside: string[] = [];
      for (const { text, cells: c } of cells) {
        const px = draw(c);
        expect(px.ink, hex(text)).not.toBeNull();
        // No clip cuts ink (above the first line, left of a line's start, right of the panel) and no line's
        // ink reaches the next line's boxes.
        if (inkOutside(layout, px)) outside.push(`${hex(text)} ${JSON.stringify(px.ink)}`);
        for (const [seen, key] of [
          [visible, px.visible],
          [boxed, px.boxed],
        ] as const) {
          const first = seen.get(key);
          if (first !== undefined) alike.push(`${hex(first)} = ${hex(text)}`);
          else seen.set(key, text);
        }
      }
      expect(alike).toEqual([]);
      expect(outside).toEqual([]);
    }, 300_000);
  }
});
