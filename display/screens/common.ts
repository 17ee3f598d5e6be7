import { drawFaithfulPage, drawFaithfulTitle, type FaithfulPages, faithfulPages } from '../faithful-draw.js';
import type { Layout } from '../layout.js';
import { SLOT_KEYS } from '../layout.js';
import { COLORS, type Painter } from '../paint.js';
import type { Box, ScreenState } from '../screen-types.js';
import { decodeMessage, wrapText } from '../text.js';

/** Where a screen's own content goes: below the band, beside or above the controls. */
export function contentBox(l: Layout): Box {
  const top = l.band + l.margin;
  if (l.input === 'touch')
    return { x: l.margin, y: top, w: l.width - 2 * l.margin, h: l.height - l.controls - top - l.margin };
  return { x: l.margin, y: top, w: l.width - l.controls - 2 * l.margin, h: l.height - top - l.margin };
}

/**
 * The trusted band: only the device draws it. Device name at the left, the owner's word in the middle, and
 * INSECURE at the right when entropy was simulated or seeded. The INSECURE marker also frames the screen.
 */
export function drawChrome(p: Painter, s: ScreenState): void {
  const l = p.layout;
  p.rect({ x: 0, y: 0, w: l.width, h: l.band }, COLORS.band);
  const size = Math.round(l.band * 0.5);
  const y = Math.round((l.band - size * 1.2) / 2) + 1;
  let right = l.width;
  if (s.chrome.insecure) {
    const w = Math.round(p.measure('INSECURE', size) + 2 * l.margin);
    right -= w;
    p.rect({ x: right, y: 0, w, h: l.band }, COLORS.insecure);
    p.text('band.insecure', 'INSECURE', l.width - l.margin, y, { size, color: '#ffffff', align: 'right' });
    const t = Math.max(2, Math.round(l.band / 10));
    p.rect({ x: 0, y: l.band, w: t, h: l.height - l.band }, COLORS.insecure);
    p.rect({ x: l.width - t, y: l.band, w: t, h: l.height - l.band }, COLORS.insecure);
    p.rect({ x: 0, y: l.height - t, w: l.width, h: t }, COLORS.insecure);
  }
  const avail = right - 3 * l.margin;
  const word = s.chrome.ownerWord ? `“${s.chrome.ownerWord}”` : '';
  const wordW = word ? Math.min(p.measure(word, size), avail * 0.45) : 0;
  p.text('band.name', s.chrome.deviceName, l.margin, y, {
    size,
    color: COLORS.bandText,
    maxWidth: avail - wordW,
  });
  if (word) {
    p.text('band.word', word, right - l.margin, y, { size, color: COLORS.bandText, align: 'right', maxWidth: wordW });
  }
}

/** One button of a screen, before it is placed. */
export interface ButtonSpec {
  readonly id: string;
  readonly label: string;
  readonly kind: 'deny' | 'approve' | 'neutral';
  readonly enabled?: boolean;
  readonly guarded?: boolean;
  /** Keys layout: which of KEY1/2/3 (0, 1, 2). Touch buttons are laid out left to right in list order. */
  readonly slot: 0 | 1 | 2;
}

/** The label a guarded button shows for the current gesture mode and progress. */
export function guardedLabel(s: ScreenState, l: Layout, id: string, verb: string): string {
  if (s.ui.gesture === 'hold') return `Hold to${l.input === 'touch' ? ' ' : '\n'}${verb.toLowerCase()}`;
  if (s.ui.armed === id) return l.input === 'touch' ? 'Tap again to confirm' : 'Again!';
  return verb;
}

/** Place buttons: a bottom row on touch, labels beside KEY1/2/3 on the keys layout. */
export function drawButtons(p: Painter, s: ScreenState, specs: readonly ButtonSpec[]): void {
  const l = p.layout;
  if (l.input === 'touch') {
    const gap = l.margin;
    const y = l.height - l.controls - Math.round(l.margin / 2) + 4;
    const h = l.controls - 8;
    const w = Math.floor((l.width - 2 * l.margin - gap * (specs.length - 1)) / Math.max(1, specs.length));
    specs.forEach((b, i) => {
      const box = { x: l.margin + i * (w + gap), y, w, h };
      p.button(b.id, b.label, box, {
        kind: b.kind,
        enabled: b.enabled ?? true,
        guarded: b.guarded ?? false,
        progress: b.guarded ? s.ui.hold : 0,
      });
    });
    return;
  }
  const top = l.band + l.margin;
  const slotH = Math.floor((l.height - top - l.margin) / 3);
  for (const b of specs) {
    const box = { x: l.width - l.controls, y: top + b.slot * slotH + 2, w: l.controls - l.margin, h: slotH - 4 };
    p.button(b.id, b.label, box, {
      kind: b.kind,
      enabled: b.enabled ?? true,
      guarded: b.guarded ?? false,
      progress: b.guarded ? s.ui.hold : 0,
      key: SLOT_KEYS[b.slot] ?? 'key1',
    });
  }
}

/**
 * Draw a text whole, wrapped over as many lines as it needs within `w` (never cut with an ellipsis); text ids are
 * `${id}.0`, `${id}.1`, ... Returns the height used.
 */
export function drawWrapped(
  p: Painter,
  id: string,
  text: string,
  x: number,
  y: number,
  w: number,
  o: { size: number; color?: string; lineHeight?: number },
): number {
  const lineH = o.lineHeight ?? Math.round(o.size * 1.25);
  const lines = wrapText(text, w, (t) => p.measure(t, o.size));
  lines.forEach((line, i) => {
    p.text(`${id}.${i}`, line, x, y + i * lineH, { size: o.size, ...(o.color ? { color: o.color } : {}) });
  });
  return lines.length * lineH;
}

/**
 * A screen's title, whole: wrapped over as many lines as it needs (a contact's name is never cut). The first line
 * is the text `title`, the next ones `title.1`, `title.2`, ... Returns the height used, with the gap below.
 */
export function drawTitle(p: Painter, text: string, box: Box): number {
  // Through the faithful renderer: a contact's name is owner-given but may hold any code point.
  return drawFaithfulTitle(p, 'title', text, box, p.layout.title);
}

/** A message decoded for display and laid out in faithful pages (display/faithful.ts). */
export interface PagedMessage extends FaithfulPages {
  /** True when the bytes were not UTF-8 and are shown as hex. */
  readonly binary: boolean;
}

// Wrapping a long message measures every cell; a screen with a countdown is redrawn every second. The layout
// of a message is remembered per message buffer (weakly: it goes with the buffer) and box, and checked against
// a checksum of the bytes, so a buffer changed in place (zeroed) is laid out again. This keeps render pure.
const pagedMemo = new WeakMap<Uint8Array, Map<string, { sum: number; paged: PagedMessage }>>();

function checksum(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** Decode a message and page it faithfully for a panel of `w` x `h` (its outer size). */
export function pageMessage(p: Painter, message: Uint8Array, w: number, h: number, size: number): PagedMessage {
  const key = `${p.layout.id}:${w}x${h}:${size}`;
  const sum = checksum(message);
  const hit = pagedMemo.get(message)?.get(key);
  if (hit && hit.sum === sum) return hit.paged;
  const decoded = decodeMessage(message);
  const paged = { ...faithfulPages(p, decoded.text, w, h, size), binary: decoded.binary };
  let byKey = pagedMemo.get(message);
  if (!byKey) {
    byKey = new Map();
    pagedMemo.set(message, byKey);
  }
  byKey.set(key, { sum, paged });
  return paged;
}

/** Draw one page of a message in a panel; line ids are `${id}.0`, `${id}.1`, ... */
export function drawMessagePage(p: Painter, id: string, box: Box, paged: PagedMessage, page: number, size: number) {
  p.rect(box, COLORS.panel);
  drawFaithfulPage(p, id, box, paged, page, size);
}

/**
 * Forget the remembered layout of a message (its decoded text) at once, rather than when the buffer is collected:
 * called when the confirmation service zeroes its copy after the decision.
 */
export function forgetMessageLayout(message: Uint8Array): void {
  pagedMemo.delete(message);
}

/** Seconds left before `deadline`, rounded up. */
export function secondsLeft(s: { deadline: number; now: number }): number {
  return Math.max(0, Math.ceil((s.deadline - s.now) / 1000));
}

/** "HH:MM" in UTC: screens must not depend on the machine's time zone. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

/** Group a hex fingerprint in blocks of four. */
export function groupHex(hex: string): string {
  return (hex.replace(/\s+/g, '').match(/.{1,4}/g) ?? []).join(' ');
}
