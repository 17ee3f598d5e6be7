import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { MONO, registerFonts, SANS } from './font.js';
import type { KeyName, Layout } from './layout.js';
import type { Box, ButtonItem, Rendered, ScreenId, TextItem } from './screen-types.js';

/** The palette. High contrast; red only for danger and INSECURE. */
export const COLORS = {
  bg: '#0e1116',
  fg: '#f2f4f7',
  dim: '#9aa4b2',
  band: '#1f3b63',
  bandText: '#ffffff',
  insecure: '#d7263d',
  warn: '#f4a259',
  ok: '#5cb85c',
  panel: '#1b2028',
  deny: '#6b2730',
  approve: '#1f6f43',
  neutral: '#39424f',
  disabled: '#2a2f37',
  progress: '#43c47a',
} as const;

/** Options for one piece of text. */
export interface TextOptions {
  readonly size: number;
  readonly color?: string;
  readonly mono?: boolean;
  readonly align?: 'left' | 'center' | 'right';
  /** Ellipsize text wider than this. */
  readonly maxWidth?: number;
}

/** Options for one button. */
export interface ButtonOptions {
  readonly kind: 'deny' | 'approve' | 'neutral';
  readonly enabled?: boolean;
  readonly guarded?: boolean;
  readonly key?: KeyName;
  /** Fill this fraction of the button (hold progress). */
  readonly progress?: number;
}

/**
 * Draws on a fresh canvas and records every text and button it draws, so the rendered screen comes with its
 * debug layout. Only the shipped fonts are used.
 */
export class Painter {
  readonly layout: Layout;
  readonly ctx: SKRSContext2D;
  private readonly canvas;
  private readonly texts: TextItem[] = [];
  private readonly buttons: ButtonItem[] = [];

  constructor(layout: Layout) {
    registerFonts();
    this.layout = layout;
    this.canvas = createCanvas(layout.width, layout.height);
    this.ctx = this.canvas.getContext('2d');
    this.ctx.textBaseline = 'top';
    this.rect({ x: 0, y: 0, w: layout.width, h: layout.height }, COLORS.bg);
  }

  /** Fill a rectangle. */
  rect(box: Box, color: string): void {
    this.ctx.fillStyle = color;
    this.ctx.fillRect(box.x, box.y, box.w, box.h);
  }

  /** Width of `s` in the given font. */
  measure(s: string, size: number, mono = false): number {
    this.ctx.font = `${size}px ${mono ? MONO : SANS}`;
    return this.ctx.measureText(s).width;
  }

  /** Draw one line of text with its top-left (or top-center / top-right) at (x, y); returns its box. */
  text(id: string, s: string, x: number, y: number, o: TextOptions): Box {
    let shown = s;
    if (o.maxWidth !== undefined && this.measure(shown, o.size, o.mono) > o.maxWidth) {
      const chars = Array.from(shown);
      while (chars.length > 0 && this.measure(`${chars.join('')}…`, o.size, o.mono) > o.maxWidth) chars.pop();
      shown = `${chars.join('')}…`;
    }
    const w = this.measure(shown, o.size, o.mono);
    const align = o.align ?? 'left';
    const left = align === 'left' ? x : align === 'center' ? x - w / 2 : x - w;
    this.ctx.fillStyle = o.color ?? COLORS.fg;
    this.ctx.textAlign = 'left';
    this.ctx.fillText(shown, Math.round(left), Math.round(y));
    const box = { x: Math.round(left), y: Math.round(y), w: Math.ceil(w), h: Math.ceil(o.size * 1.2) };
    this.texts.push({ id, text: shown, box });
    return box;
  }

  /** Record in the debug layout a text drawn by other means (faithful cells, display/faithful-draw.ts). */
  record(item: TextItem): void {
    this.texts.push(item);
  }

  /** Draw a button and record it for hit-testing. */
  button(id: string, label: string, box: Box, o: ButtonOptions): void {
    const enabled = o.enabled ?? true;
    const fill = !enabled
      ? COLORS.disabled
      : o.kind === 'deny'
        ? COLORS.deny
        : o.kind === 'approve'
          ? COLORS.approve
          : COLORS.neutral;
    this.rect(box, fill);
    const p = Math.min(1, Math.max(0, o.progress ?? 0));
    if (enabled && p > 0) this.rect({ x: box.x, y: box.y, w: Math.round(box.w * p), h: box.h }, COLORS.progress);
    const size = this.layout.input === 'touch' ? this.layout.body : this.layout.small;
    // A label may have several lines ("Hold to\napprove" on the small panel); each is its own text item.
    const lines = label.split('\n');
    const lineH = Math.round(size * 1.2);
    const top = box.y + (box.h - lines.length * lineH) / 2 + 1;
    const shown = lines.map((line, i) => {
      const before = this.texts.length;
      this.text(lines.length === 1 ? `button.${id}` : `button.${id}.${i}`, line, box.x + box.w / 2, top + i * lineH, {
        size,
        color: enabled ? COLORS.fg : COLORS.dim,
        align: 'center',
        maxWidth: box.w - 4,
      });
      return this.texts[before]?.text ?? line;
    });
    this.buttons.push({
      id,
      label: shown.join('\n'),
      box,
      enabled,
      guarded: o.guarded ?? false,
      ...(o.key ? { key: o.key } : {}),
    });
  }

  /** Finish: read the pixels back and return them with the debug layout. */
  finish(screen: ScreenId, pages = 1): Rendered {
    const { width, height } = this.layout;
    const img = this.ctx.getImageData(0, 0, width, height);
    return {
      screen,
      width,
      height,
      pixels: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength),
      texts: this.texts,
      buttons: this.buttons,
      pages,
    };
  }
}
