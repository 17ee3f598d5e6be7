/**
 * Every cell the faithful renderer draws as a glyph, found through the renderer itself (faithfulCells): each
 * repertoire code point alone, and each base with each mark it accepts. For the exhaustive pixel checks.
 */
import { type Cell, faithfulCells } from '../../display/faithful.js';
import { drawable } from '../../display/unicode/classify.js';

/** Every glyph cell, with its text. */
export function glyphCells(): { readonly text: string; readonly cells: readonly Cell[] }[] {
  const bases: string[] = [];
  const marks: string[] = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    const d = drawable(cp);
    if (d) (d.mark ? marks : bases).push(String.fromCodePoint(cp));
  }
  const out: { text: string; cells: readonly Cell[] }[] = [];
  for (const b of bases) {
    const cells = faithfulCells(b).cells;
    if (cells.length === 1 && cells[0]!.kind === 'glyph') out.push({ text: b, cells });
    for (const m of marks) {
      const withMark = faithfulCells(b + m).cells;
      if (withMark.length === 1 && withMark[0]!.kind === 'glyph') out.push({ text: b + m, cells: withMark });
    }
  }
  return out;
}
