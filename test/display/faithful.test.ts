import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Cell, type CellLine, faithfulCells, lineText, MAX_MARKS, wrapCells } from '../../display/faithful.js';
import { token } from './adversarial.js';

/** Read the message back from wrapped lines, as a person reading the screen would. */
function readBack(lines: readonly CellLine[]): string {
  let out = '';
  for (const line of lines) {
    for (const c of line.cells) {
      if (c.kind === 'glyph') out += c.text;
      else if (c.kind === 'escape') out += String.fromCodePoint(c.cp);
      else if (c.kind === 'gap' || c.kind === 'space') out += ' ';
      else if (c.kind === 'newline') out += '\n';
    }
    const last = line.cells.at(-1);
    // A line that ends in neither marker nor a space broke at a gap, which is not drawn: one space.
    if (line.end === 'gap' && last?.kind !== 'gap' && last?.kind !== 'space') out += ' ';
  }
  return out;
}

const kinds = (cells: readonly Cell[]) => cells.map((c) => c.kind).join(',');

describe('faithful cells', () => {
  it('every code point is in exactly one cell, and the text reads back from the wrapped lines (property)', () => {
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 30 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 3 }),
        (tokens, width, wide) => {
          const text = tokens.join('');
          const { cells } = faithfulCells(text);
          const w = (c: Cell) => (c.kind === 'escape' ? wide * 3 : 1);
          const lines = wrapCells(cells, width + 1, w, 1);
          expect(readBack(lines)).toBe(text);
          for (const line of lines) {
            const content = line.cells.filter((c) => c.kind !== 'wrap' && c.kind !== 'newline');
            const sum = content.reduce((a, c) => a + w(c), 0);
            if (content.length > 1) expect(sum).toBeLessThanOrEqual(width);
            if (line.end === 'wrap') expect(line.cells.at(-1)?.kind).toBe('wrap');
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a base carries at most one mark, and only when base and mark are in NFC', () => {
    expect(MAX_MARKS).toBe(1);
    expect(kinds(faithfulCells('q\u0301').cells)).toBe('glyph');
    expect(kinds(faithfulCells('q\u0301\u0301').cells)).toBe('glyph,escape');
    expect(kinds(faithfulCells('e\u0301').cells)).toBe('glyph,escape');
    expect(kinds(faithfulCells('\u0301a').cells)).toBe('escape,glyph');
    expect(kinds(faithfulCells(' \u0301').cells)).toBe('space,escape');
    expect(faithfulCells('q\u0301').notes.marks).toBe(1);
  });

  it('spaces: a lone space between visible cells is a gap; runs and spaces at the ends are visible', () => {
    expect(lineText(faithfulCells('a b').cells)).toBe('a b');
    expect(lineText(faithfulCells(' a  b ').cells)).toBe('␣a␣␣b␣');
    expect(lineText(faithfulCells('a \nb').cells)).toBe('a␣↵b');
    expect(lineText(faithfulCells('a\u00a0b\tc').cells)).toBe('a⟨NBSP⟩b⟨TAB⟩c');
  });

  it('in a word that mixes scripts, the letters outside its main script are marked', () => {
    const out = (s: string) =>
      faithfulCells(s)
        .cells.map((c, i) => (c.kind === 'glyph' && c.outsider ? i : -1))
        .filter((i) => i >= 0);
    expect(out('pаypal')).toEqual([1]);
    expect(out('paypal')).toEqual([]);
    expect(out('рор')).toEqual([]);
    expect(out('раураl')).toEqual([5]);
    // A tie goes to the script of the first letter.
    expect(out('рa')).toEqual([1]);
    expect(out('aр')).toEqual([1]);
    // Digits and punctuation are common to all scripts; words are split at spaces.
    expect(out('pay 1000 рубль')).toEqual([]);
    expect(faithfulCells('pаypal рор').notes).toMatchObject({ outsiders: 1, scripts: [2] });
  });

  it('right-to-left letters are flagged, and stay in stored order', () => {
    const { cells, notes } = faithfulCells('PIN ו 1 2 3 4 ו');
    expect(lineText(cells)).toBe('PIN ו 1 2 3 4 ו');
    expect(notes.rtl).toBe(2);
  });
});
