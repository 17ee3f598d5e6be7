/**
 * Pixels of one glyph cell as the message panel can show it, for the tables' generator (generate.ts) and the
 * exhaustive test (test/display/cell-collisions.test.ts). Build and test time only.
 *
 * A cell's ink can be hidden in three ways on a page: the panel's clip cuts what reaches above the first line
 * (more than the inset's top) or left of a line's start (more than its side); the next line's boxes (escapes,
 * highlights) are drawn over what reaches below one line pitch; the next cell's box is drawn over what reaches
 * right of the cell's advance. So two cells are told apart for sure only by the pixels left in that window:
 * `visible` is the window without the right edge (the cell ends its line), `boxed` the window with it (a box
 * follows), which also holds the advance (a different advance moves everything after the cell).
 */
import { createHash } from 'node:crypto';
import type { Cell } from '../faithful.js';
import { drawCells, faithfulInset, faithfulLineHeight } from '../faithful-draw.js';
import type { Layout } from '../layout.js';
import { COLORS, Painter } from '../paint.js';
import { rgbaToRgb565 } from '../pixels.js';

/** What one cell drew at a layout's body size. */
export interface CellPixels {
  readonly width: number;
  /** Hash of the RGB565 pixels in the window, right edge open. */
  readonly visible: string;
  /** Hash of the RGB565 pixels in the window cut at the advance, and the advance. */
  readonly boxed: string;
  /** Ink bounds (inclusive, relative to the cell's origin) of the whole drawing, or null when nothing was drawn. */
  readonly ink: { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number } | null;
}

/** A drawer of single cells at a layout's body size. */
export function cellPixels(layout: Layout): (cells: readonly Cell[]) => CellPixels {
  const size = layout.body;
  const W = size * 6;
  const H = size * 4;
  const ox = size * 2;
  const oy = size;
  const inset = faithfulInset(layout, size);
  const pitch = faithfulLineHeight(size);
  const p = new Painter({ ...layout, width: W, height: H });
  return (cells) => {
    p.rect({ x: 0, y: 0, w: W, h: H }, COLORS.panel);
    const width = drawCells(p, 'cell', cells, ox, oy, size) - ox;
    const img = p.ctx.getImageData(0, 0, W, H).data;
    const q = rgbaToRgb565(img, W, H, false);
    const px = new Uint16Array(q.buffer, q.byteOffset, W * H);
    // The corner is never inked: it is the panel's colour as the panel shows it.
    const bg = px[0];
    let top = H;
    let bottom = -1;
    let left = W;
    let right = -1;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (px[y * W + x] === bg) continue;
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
    const x0 = ox - inset.side;
    const y0 = oy - inset.top;
    const y1 = oy + pitch;
    const cut = Math.round(ox + width);
    const visible = createHash('sha1');
    const boxed = createHash('sha1');
    for (let y = y0; y < y1; y++) {
      visible.update(px.subarray(y * W + x0, y * W + W));
      boxed.update(px.subarray(y * W + x0, y * W + cut));
    }
    boxed.update(`|${width}`);
    return {
      width,
      visible: visible.digest('hex'),
      boxed: boxed.digest('hex'),
      ink: bottom < 0 ? null : { top: top - oy, bottom: bottom - oy, left: left - ox, right: right - ox },
    };
  };
}

/**
 * True when a cell's ink leaves the room a cell has: above the panel's inset over the first line, left of the
 * inset at a line's start, right of its advance by more than the side inset (the panel's clip at a line's end),
 * or down to the next line's boxes (one pitch).
 */
export function inkOutside(layout: Layout, px: CellPixels): boolean {
  const inset = faithfulInset(layout, layout.body);
  const ink = px.ink;
  if (!ink) return false;
  return (
    ink.top < -inset.top ||
    ink.left < -inset.side ||
    ink.right > px.width + inset.side ||
    ink.bottom >= faithfulLineHeight(layout.body)
  );
}
