/**
 * A faithful view of text for the trusted screen, built as an allow-list: every code point of the message
 * becomes exactly one visible cell, in stored order, so two different messages never look the same.
 *
 * - A code point is drawn as itself only when it is in the display repertoire (display/unicode/repertoire.ts:
 *   chosen scripts and symbols that the shipped font really draws). Letters of Greek, Cyrillic and Hebrew are
 *   drawn in their script's tint (their glyphs are often the very drawings of Latin letters).
 * - Everything else is an escape cell (`⟨U+E0041⟩`, `⟨TAB⟩`, `⟨NBSP⟩`) in its own style.
 * - A base character carries at most {@link MAX_MARKS} nonspacing mark, only when base and mark are in NFC
 *   (so `e` + U+0301 is not drawn as `é`) and the base is a plain letter (see `marksOn`); other marks are
 *   escapes. Marks are drawn in their own colour.
 * - Right-to-left letters are drawn where they are stored (left to right) and underlined.
 * - In a word that mixes scripts, the letters outside the word's main script are highlighted (Unicode TR39's
 *   mixed-script idea): `pаypal` with a Cyrillic `а` is visibly not `paypal`.
 * - A space between two visible cells is a gap; every other space (runs, at the start or end of a paragraph)
 *   is a visible `␣`. Each newline is a visible `↵`; a line broken inside a word ends in `↩`. A line that ends
 *   with neither broke at a single gap, so the line structure can always be read back.
 */
import { type Drawable, drawable, escapeName, markRefused } from './unicode/classify.js';
import { TINT_HEBREW, TINT_LATIN } from './unicode/repertoire.js';

/** Most nonspacing marks drawn on one base character; the rest are escapes. */
export const MAX_MARKS = 1;

/** One visible unit of a faithful text. */
export type Cell =
  | {
      readonly kind: 'glyph';
      /** The code point, or base and mark. */
      readonly text: string;
      readonly base: string;
      readonly info: Drawable;
      readonly hasMark: boolean;
      /** A letter outside its word's main script. */
      readonly outsider: boolean;
    }
  | { readonly kind: 'escape'; readonly text: string; readonly cp: number }
  /** A lone space between two visible cells: drawn as a gap. */
  | { readonly kind: 'gap' }
  /** Any other space: drawn as `␣`. */
  | { readonly kind: 'space' }
  | { readonly kind: 'newline' }
  /** The marker at the end of a line broken inside a word. */
  | { readonly kind: 'wrap' };

/** What a text holds that the owner must be told about. */
export interface FaithfulNotes {
  /** Escape cells. */
  readonly escapes: number;
  /** Letters outside their word's main script. */
  readonly outsiders: number;
  /** Base characters carrying a mark. */
  readonly marks: number;
  /** Right-to-left letters. */
  readonly rtl: number;
  /** Tints of letters other than Latin that occur (1 Greek, 2 Cyrillic, 3 Hebrew), ascending. */
  readonly scripts: readonly number[];
}

/** A text as cells, with its notes. */
export interface FaithfulText {
  readonly cells: readonly Cell[];
  readonly notes: FaithfulNotes;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function escapeCell(cp: number): Cell {
  return { kind: 'escape', text: `⟨${escapeName(cp)}⟩`, cp };
}

/**
 * Whether a mark may be drawn on a base, by the kinds of the two: only on a plain letter (one with no accent of
 * its own: its canonical decomposition is itself), Hebrew points only on Hebrew letters and other marks only
 * on letters of the other scripts. On a letter that already has an accent, or on a symbol, a mark lands on the
 * base's own ink, and the base drawn over it hides how it differs from another mark (`ḥ` with a right tack
 * below looked like `ḥ` with a plus sign below). Pairs that pass this and still hide or look alike in pixels
 * are refused by the generated tables (see markRefused).
 */
export function marksOn(base: Drawable, baseText: string, mark: Drawable): boolean {
  return (
    base.letter &&
    !base.mark &&
    mark.mark &&
    baseText.normalize('NFD') === baseText &&
    (base.tint === TINT_HEBREW) === (mark.tint === TINT_HEBREW)
  );
}

const isBlank = (c: Cell | undefined) =>
  c === undefined || c.kind === 'space' || c.kind === 'gap' || c.kind === 'newline';

/**
 * Turn text into cells: one cell per code point (a base and its drawn mark share one), none dropped.
 */
export function faithfulCells(text: string): FaithfulText {
  const cps = Array.from(text, (c) => c.codePointAt(0) ?? 0);
  const cells: Mutable<Cell>[] = [];
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    if (cp === 0x0a) {
      cells.push({ kind: 'newline' });
      continue;
    }
    if (cp === 0x20) {
      cells.push({ kind: 'space' });
      continue;
    }
    const info = drawable(cp);
    if (!info || info.mark) {
      cells.push(escapeCell(cp));
      continue;
    }
    const base = String.fromCodePoint(cp);
    let shown = base;
    const next = cps[i + 1];
    const mark = next === undefined ? null : drawable(next);
    if (MAX_MARKS > 0 && next !== undefined && mark && marksOn(info, base, mark) && !markRefused(cp, next)) {
      const withMark = base + String.fromCodePoint(next);
      if (withMark.normalize('NFC') === withMark) {
        shown = withMark;
        i++;
      }
    }
    cells.push({ kind: 'glyph', text: shown, base, info, hasMark: shown !== base, outsider: false });
  }
  // Lone spaces between visible cells are gaps; other spaces stay visible.
  for (let i = 0; i < cells.length; i++) {
    if (cells[i]!.kind === 'space' && !isBlank(cells[i - 1]) && !isBlank(cells[i + 1])) cells[i] = { kind: 'gap' };
  }
  markOutsiders(cells);
  let escapes = 0;
  let outsiders = 0;
  let marks = 0;
  let rtl = 0;
  const scripts = new Set<number>();
  for (const c of cells) {
    if (c.kind === 'escape') escapes++;
    if (c.kind !== 'glyph') continue;
    if (c.outsider) outsiders++;
    if (c.hasMark) marks++;
    if (c.info.rtl) rtl++;
    if (c.info.letter && c.info.tint !== TINT_LATIN) scripts.add(c.info.tint);
  }
  return {
    cells,
    notes: { escapes, outsiders, marks, rtl, scripts: [...scripts].sort((a, b) => a - b) },
  };
}

/** Within each word (cells between blanks), highlight letters whose script is not the word's main one. */
function markOutsiders(cells: Mutable<Cell>[]): void {
  let start = 0;
  for (let i = 0; i <= cells.length; i++) {
    if (i < cells.length && !isBlank(cells[i])) continue;
    const counts = new Map<number, number>();
    let first = -1;
    for (let j = start; j < i; j++) {
      const c = cells[j]!;
      if (c.kind !== 'glyph' || !c.info.letter) continue;
      if (first < 0) first = c.info.tint;
      counts.set(c.info.tint, (counts.get(c.info.tint) ?? 0) + 1);
    }
    if (counts.size > 1) {
      // The main script has the most letters; a tie goes to the script of the word's first letter.
      let main = first;
      for (const [tint, n] of counts) if (n > (counts.get(main) ?? 0)) main = tint;
      for (let j = start; j < i; j++) {
        const c = cells[j]!;
        if (c.kind === 'glyph' && c.info.letter && c.info.tint !== main) cells[j] = { ...c, outsider: true };
      }
    }
    start = i + 1;
  }
}

/** How a line ends: a newline (`↵`), a break inside a word (`↩`), a break at a gap, or the end of the text. */
export type LineEnd = 'newline' | 'wrap' | 'gap' | 'end';

/** One line of cells. The `newline` or `wrap` cell, when there is one, is the last. */
export interface CellLine {
  readonly cells: readonly Cell[];
  readonly end: LineEnd;
}

/**
 * Wrap cells to lines no wider than `maxWidth`. `width` gives each cell's advance; room for one end marker
 * (`markerWidth`) is kept at the end of every line. Breaks go at gaps (the gap is not drawn), after a visible
 * space, or inside a word (the line then ends in a `wrap` cell).
 */
export function wrapCells(
  cells: readonly Cell[],
  maxWidth: number,
  width: (c: Cell) => number,
  markerWidth: number,
): CellLine[] {
  const room = Math.max(1, maxWidth - markerWidth);
  const lines: CellLine[] = [];
  let cur: Cell[] = [];
  let x = 0;
  const flush = (end: LineEnd) => {
    lines.push({ cells: cur, end });
    cur = [];
    x = 0;
  };
  const breakBefore = () => {
    const last = cur.at(-1);
    if (last === undefined || last.kind === 'space' || last.kind === 'gap') flush('gap');
    else {
      cur.push({ kind: 'wrap' });
      flush('wrap');
    }
  };
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    if (c.kind === 'newline') {
      cur.push(c);
      flush('newline');
      continue;
    }
    const w = width(c);
    if (c.kind === 'gap') {
      let word = 0;
      for (let j = i + 1; j < cells.length && !isBlank(cells[j]); j++) word += width(cells[j]!);
      if (x + w + word <= room) {
        cur.push(c);
        x += w;
      } else if (word <= room || x + w > room) {
        // The next word fits on a line of its own (or not even the gap fits here): break at the gap.
        flush('gap');
      } else {
        cur.push(c);
        x += w;
      }
      continue;
    }
    if (x + w > room && cur.length > 0) breakBefore();
    cur.push(c);
    x += w;
  }
  if (cur.length > 0 || lines.length === 0) flush('end');
  return lines;
}

/** The text of a line as the debug layout reports it: `␣` for visible spaces, `↵` and `↩` for the markers. */
export function lineText(cells: readonly Cell[]): string {
  const shown = (c: Cell): string => {
    if (c.kind === 'glyph' || c.kind === 'escape') return c.text;
    return c.kind === 'gap' ? ' ' : c.kind === 'space' ? '␣' : c.kind === 'newline' ? '↵' : '↩';
  };
  return cells.map(shown).join('');
}
