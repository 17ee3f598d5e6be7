/**
 * Drawing faithful cells (display/faithful.ts) with the shipped fonts. Every cell is drawn by its own
 * `fillText` at a position computed here, so the canvas never applies bidi reordering, ligatures or kerning
 * across cells: what is on screen is the stored order, one cell after the other.
 */
import { type Cell, type CellLine, type FaithfulNotes, faithfulCells, lineText, wrapCells } from './faithful.js';
import { MONO, SANS } from './font.js';
import type { Layout } from './layout.js';
import { COLORS, type Painter } from './paint.js';
import type { Box } from './screen-types.js';
import { TINT_NAMES } from './unicode/repertoire.js';

/** Colours of the faithful text: script tints, marks, escapes, markers, highlights. */
export const FAITHFUL_COLORS = {
  tint: [COLORS.fg, '#8ecbff', '#9be88f', '#e7b8ff'],
  mark: '#ff7eb0',
  escapeBg: '#5a2030',
  escapeFg: '#ffd7de',
  marker: '#7f8a99',
  /** Behind a letter outside its word's main script; the letter keeps its script's tint. */
  outsiderBg: '#8a4b0f',
} as const;

/** The colour names of the tints, for the notes line. */
const TINT_COLOR_NAMES = ['white', 'blue', 'green', 'violet'] as const;

const widths = new Map<string, number>();

function measure(p: Painter, font: string, s: string): number {
  const key = `${font}\u0000${s}`;
  let w = widths.get(key);
  if (w === undefined) {
    if (widths.size > 20_000) widths.clear();
    p.ctx.font = font;
    w = p.ctx.measureText(s).width;
    widths.set(key, w);
  }
  return w;
}

const sansFont = (size: number) => `${size}px ${SANS}`;
const escSize = (size: number) => Math.max(8, Math.round(size * 0.78));
const monoFont = (size: number) => `${escSize(size)}px ${MONO}`;

/** Advance of one cell at a font size. */
export function cellWidth(p: Painter, c: Cell, size: number): number {
  switch (c.kind) {
    case 'glyph':
      return measure(p, sansFont(size), c.text);
    case 'escape':
      return measure(p, monoFont(size), c.text) + 4;
    case 'gap':
      return measure(p, sansFont(size), ' ');
    case 'space':
      return measure(p, sansFont(size), '␣');
    case 'newline':
      return measure(p, sansFont(size), '↵');
    case 'wrap':
      return measure(p, sansFont(size), '↩');
  }
}

/** Room kept at the end of every line for a `↵` or `↩`. */
export function markerWidth(p: Painter, size: number): number {
  return Math.max(measure(p, sansFont(size), '↵'), measure(p, sansFont(size), '↩'));
}

/**
 * Draw one line of cells with its top-left at (x, y); returns the x after the last cell. Records the line in
 * the debug layout under `id`.
 */
export function drawCells(p: Painter, id: string, cells: readonly Cell[], x: number, y: number, size: number): number {
  const ctx = p.ctx;
  const lineH = Math.ceil(size * 1.2);
  // Widths first: measuring may set ctx.font. Then set ctx.font (which parses the string) only on a change.
  const ws = cells.map((c) => cellWidth(p, c, size));
  let current = '';
  const font = (f: string) => {
    if (f !== current) ctx.font = current = f;
  };
  let at = x;
  cells.forEach((c, i) => {
    const w = ws[i] ?? 0;
    const left = Math.round(at);
    switch (c.kind) {
      case 'glyph': {
        const tint = FAITHFUL_COLORS.tint[c.info.tint] ?? COLORS.fg;
        if (c.outsider) p.rect({ x: left, y: Math.round(y), w: Math.ceil(w), h: lineH }, FAITHFUL_COLORS.outsiderBg);
        const color = tint;
        font(sansFont(size));
        if (c.hasMark) {
          // The mark in its own colour: draw base and mark together (so the mark sits where the font puts it),
          // then the base alone over it in the letter's colour.
          ctx.fillStyle = FAITHFUL_COLORS.mark;
          ctx.fillText(c.text, left, Math.round(y));
        }
        ctx.fillStyle = color;
        ctx.fillText(c.base, left, Math.round(y));
        if (c.info.rtl) {
          p.rect({ x: left, y: Math.round(y) + lineH - 2, w: Math.max(1, Math.floor(w)), h: 2 }, color);
        }
        break;
      }
      case 'escape': {
        p.rect({ x: left, y: Math.round(y) + 1, w: Math.ceil(w) - 1, h: lineH - 2 }, FAITHFUL_COLORS.escapeBg);
        font(monoFont(size));
        ctx.fillStyle = FAITHFUL_COLORS.escapeFg;
        ctx.fillText(c.text, left + 2, Math.round(y + (size - escSize(size)) * 0.6));
        break;
      }
      case 'gap':
        break;
      case 'space':
      case 'newline':
      case 'wrap':
        font(sansFont(size));
        ctx.fillStyle = FAITHFUL_COLORS.marker;
        ctx.fillText(c.kind === 'space' ? '␣' : c.kind === 'newline' ? '↵' : '↩', left, Math.round(y));
        break;
    }
    at += w;
  });
  p.record({ id, text: lineText(cells), box: { x: Math.round(x), y: Math.round(y), w: Math.ceil(at - x), h: lineH } });
  return at;
}

/** A text laid out in faithful lines and pages. */
export interface FaithfulPages {
  readonly pages: readonly (readonly CellLine[])[];
  readonly lineHeight: number;
  readonly notes: FaithfulNotes;
}

/** How far a cell's ink may reach above its line's top, in ems (`Ǘ`, `Ṧ`, `d` with an accent). */
const INK_ABOVE = 0.4;
/** How far ink may reach left of a cell or right of its advance, in ems (`⁄`). */
const INK_SIDE = 0.25;

/**
 * The room kept inside a text panel around its lines: at least half the margin, and enough that no cell's ink
 * is cut by the panel's clip (an accent cut off the top of the first line made `Ä` and `Ǟ` one picture on
 * 240x240). Below, each line's own height already holds its ink. test/display/cell-collisions.test.ts measures
 * every cell the renderer can draw against these bounds.
 */
export function faithfulInset(layout: Layout, size: number): { top: number; side: number; bottom: number } {
  const pad = Math.max(2, Math.round(layout.margin / 2));
  return {
    top: Math.max(pad, Math.ceil(size * INK_ABOVE)),
    side: Math.max(pad, Math.ceil(size * INK_SIDE)),
    bottom: pad,
  };
}

/** Line pitch of faithful text at a font size; a cell's ink stays within one pitch below its line's top. */
export const faithfulLineHeight = (size: number) => Math.round(size * 1.3);

/** Lay out text in pages of lines for a panel `w` x `h` (its outer size) at a font size. */
export function faithfulPages(p: Painter, text: string, w: number, h: number, size: number): FaithfulPages {
  const { cells, notes } = faithfulCells(text);
  const lineHeight = faithfulLineHeight(size);
  const inset = faithfulInset(p.layout, size);
  const lines = wrapCells(cells, w - 2 * inset.side, (c) => cellWidth(p, c, size), markerWidth(p, size));
  const perPage = Math.max(1, Math.floor((h - inset.top - inset.bottom) / lineHeight));
  const pages: CellLine[][] = [];
  for (let i = 0; i < lines.length; i += perPage) pages.push(lines.slice(i, i + perPage));
  if (pages.length === 0) pages.push([]);
  return { pages, lineHeight, notes };
}

/** Draw one page inside a box, clipped to it (marks never paint outside); line ids are `${id}.0`, ... */
export function drawFaithfulPage(p: Painter, id: string, box: Box, paged: FaithfulPages, page: number, size: number) {
  const inset = faithfulInset(p.layout, size);
  const lines = paged.pages[Math.min(page, paged.pages.length - 1)] ?? [];
  p.ctx.save();
  p.ctx.beginPath();
  p.ctx.rect(box.x, box.y, box.w, box.h);
  p.ctx.clip();
  lines.forEach((line, i) => {
    drawCells(p, `${id}.${i}`, line.cells, box.x + inset.side, box.y + inset.top + i * paged.lineHeight, size);
  });
  p.ctx.restore();
}

/**
 * Draw a title (with a contact name) faithfully and whole: wrapped over as many lines as it needs, never cut,
 * escapes and highlights as in a message. Line ids are `${id}`, `${id}.1`, ...; each line is clipped to its own
 * band so marks never paint over the lines below.
 * @returns the height used
 */
export function drawFaithfulTitle(p: Painter, id: string, text: string, box: Box, size: number): number {
  const lineH = Math.round(size * 1.2);
  const cells = faithfulCells(text).cells.filter((c) => c.kind !== 'newline');
  const lines = wrapCells(cells, box.w, (c) => cellWidth(p, c, size), markerWidth(p, size));
  const head = Math.round(size * 0.25);
  lines.forEach((line, i) => {
    const y = box.y + i * lineH;
    p.ctx.save();
    p.ctx.beginPath();
    p.ctx.rect(box.x, y - (i === 0 ? head : 0), box.w, lineH + (i === 0 ? head : 0));
    p.ctx.clip();
    drawCells(p, i === 0 ? id : `${id}.${i}`, line.cells, box.x, y, size);
    p.ctx.restore();
  });
  return lines.length * lineH + Math.round(size * 0.2);
}

/**
 * The warning for a text's notes, as lines that fit `width` (at most `maxLines`, the last cut with `…`), or no
 * lines when there is nothing to warn about. It counts escapes, letters from another script within a word,
 * added accents and right-to-left letters, and names the tints of other scripts.
 */
export function notesLines(p: Painter, n: FaithfulNotes, touch: boolean, width: number, size: number, maxLines = 2) {
  const parts: string[] = [];
  if (n.escapes > 0) parts.push(touch ? `${n.escapes} shown as ⟨codes⟩` : `${n.escapes} ⟨codes⟩`);
  if (n.outsiders > 0)
    parts.push(
      touch ? `${n.outsiders} letter${n.outsiders === 1 ? '' : 's'} of another script` : `${n.outsiders} mixed`,
    );
  if (n.marks > 0) parts.push(touch ? `${n.marks} with an added accent` : `${n.marks} accent`);
  if (n.rtl > 0) parts.push(touch ? 'right-to-left letters shown left to right' : 'RTL as stored');
  for (const t of n.scripts) {
    const name = TINT_NAMES[t] ?? '';
    parts.push(touch ? `${name} in ${TINT_COLOR_NAMES[t]}` : `${name.slice(0, 3)} ${TINT_COLOR_NAMES[t]}`);
  }
  if (parts.length === 0) return [];
  const lines: string[] = [];
  let line = '⚠';
  for (const part of parts) {
    const candidate = line === '⚠' ? `⚠ ${part}` : `${line} · ${part}`;
    if (line === '⚠' || p.measure(candidate, size) <= width) line = candidate;
    else {
      lines.push(line);
      line = part;
    }
  }
  lines.push(line);
  return lines.length <= maxLines ? lines : [...lines.slice(0, maxLines - 1), lines.slice(maxLines - 1).join(' · ')];
}

/** Draw the warning lines: dark text on the warning colour, full width; ids `info.warning.0`, ... */
export function drawNotes(p: Painter, lines: readonly string[], box: Box, lineH: number, size: number): void {
  if (lines.length === 0) return;
  p.rect(box, COLORS.warn);
  lines.forEach((t, i) => {
    p.text(`info.warning.${i}`, t, box.x + 3, box.y + i * lineH + Math.round((lineH - size * 1.2) / 2) + 1, {
      size,
      color: '#111111',
      maxWidth: box.w - 6,
    });
  });
}
