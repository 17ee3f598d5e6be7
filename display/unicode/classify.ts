/**
 * Lookups in the generated tables (tables.ts): whether the trusted screen may draw a code point as itself and
 * how, whether a terminal may print it, and the visible escape that stands for it otherwise.
 */
import { FLAG_LETTER, FLAG_MARK, FLAG_RTL } from './repertoire.js';
import { MARK_REFUSED, MARKS, REPERTOIRE, TERMINAL_ESCAPE } from './tables.js';

export { FONT_SHA256, UNICODE_VERSION } from './tables.js';

/** How a repertoire code point is drawn. */
export interface Drawable {
  /** 0 Latin and common, 1 Greek, 2 Cyrillic, 3 Hebrew. */
  readonly tint: number;
  readonly letter: boolean;
  /** A nonspacing mark: drawn only on a base character. */
  readonly mark: boolean;
  /** Right-to-left (bidi class R): drawn in stored order, marked. */
  readonly rtl: boolean;
}

function parseRuns(s: string): Int32Array {
  const parts = s.split(',');
  const out = new Int32Array(parts.length * 3);
  parts.forEach((p, i) => {
    const [range, flags] = p.split(':');
    const [start, count] = (range ?? '').split('+');
    out[i * 3] = Number.parseInt(start ?? '', 16);
    out[i * 3 + 1] = Number.parseInt(start ?? '', 16) + Number.parseInt(count ?? '', 16) - 1;
    out[i * 3 + 2] = Number.parseInt(flags ?? '', 16);
  });
  return out;
}

function parseRanges(s: string): Int32Array {
  const parts = s.split(',');
  const out = new Int32Array(parts.length * 2);
  parts.forEach((p, i) => {
    const [a, b] = p.split('-');
    out[i * 2] = Number.parseInt(a ?? '', 16);
    out[i * 2 + 1] = Number.parseInt(b ?? a ?? '', 16);
  });
  return out;
}

/** Index of the run containing cp in a table of (start, end, ...) records of `stride` numbers, or -1. */
function find(table: Int32Array, stride: number, cp: number): number {
  let lo = 0;
  let hi = table.length / stride - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < table[mid * stride]!) hi = mid - 1;
    else if (cp > table[mid * stride + 1]!) lo = mid + 1;
    else return mid;
  }
  return -1;
}

const repertoire = parseRuns(REPERTOIRE);
const terminalEscape = parseRanges(TERMINAL_ESCAPE);
const marks = parseRanges(MARKS);
const entries: Drawable[] = [];
for (let f = 0; f < 32; f++) {
  entries.push(
    Object.freeze({
      tint: f & 3,
      letter: (f & FLAG_LETTER) !== 0,
      mark: (f & FLAG_MARK) !== 0,
      rtl: (f & FLAG_RTL) !== 0,
    }),
  );
}

/** How the trusted screen draws `cp`, or null when it is not in the repertoire (draw an escape). */
export function drawable(cp: number): Drawable | null {
  const i = find(repertoire, 3, cp);
  return i < 0 ? null : (entries[repertoire[i * 3 + 2]! & 31] ?? null);
}

/**
 * True when a terminal must not print `cp` as itself: controls (so escape sequences), format characters (bidi
 * controls, zero-width), default-ignorables (tags, variation selectors), white space other than the space,
 * separators, private use, unassigned and noncharacters, and right-to-left letters (a terminal may reorder them).
 */
export function terminalEscapes(cp: number): boolean {
  return find(terminalEscape, 2, cp) >= 0;
}

/** True for combining marks (general category Mn, Mc or Me). */
export function isMark(cp: number): boolean {
  return find(marks, 2, cp) >= 0;
}

const refused = new Set(
  MARK_REFUSED.split(',')
    .filter((p) => p !== '')
    .map((p) => {
      const [b, m] = p.split('+');
      return Number.parseInt(b ?? '', 16) * 0x110000 + Number.parseInt(m ?? '', 16);
    }),
);

/**
 * True when a mark is not drawn on this base although both are in the repertoire: the generator found the pair
 * hidden or alike in pixels (the mark on the base's own ink, or outside the room a cell's ink has).
 */
export function markRefused(base: number, mark: number): boolean {
  return refused.has(base * 0x110000 + mark);
}

const NAMES: Readonly<Record<number, string>> = {
  9: 'TAB',
  13: 'CR',
  160: 'NBSP',
  173: 'SHY',
  8203: 'ZWSP',
  8204: 'ZWNJ',
  8205: 'ZWJ',
  8206: 'LRM',
  8207: 'RLM',
  65279: 'BOM',
};

/** The text inside an escape: a short name for a few common invisibles, else `U+XXXX`. */
export function escapeName(cp: number): string {
  return NAMES[cp] ?? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}
