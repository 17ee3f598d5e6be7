import { drawNotes, notesLines } from '../faithful-draw.js';
import { COLORS, type Painter } from '../paint.js';
import type { ScreenState } from '../screen-types.js';
import { groupDigits } from '../text.js';
import { clockTime, contentBox, drawButtons, drawMessagePage, drawTitle, pageMessage } from './common.js';

type ReceivedState = Extract<ScreenState, { id: 'received-message' }>;

/**
 * received-message ("private receive"): the plaintext, shown here only and never returned to the laptop.
 * @returns the number of pages of the message
 */
export function drawReceived(p: Painter, s: ReceivedState): number {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  const titleH = drawTitle(p, `From ${s.contact}`, c);
  const infoLine = Math.round(l.small * 1.3);
  // The same notes as on the confirm screen: a warning line when the text holds escapes, mixed scripts, ...
  const full = { x: c.x, y: c.y + titleH, w: c.w, h: c.h - titleH - 2 * infoLine - l.margin / 2 };
  let paged = pageMessage(p, s.message, full.w, full.h, l.body);
  const warning = notesLines(p, paged.notes, touch, c.w - 6, l.small);
  const box = { ...full, h: full.h - warning.length * infoLine };
  if (warning.length > 0) paged = pageMessage(p, s.message, box.w, box.h, l.body);
  const pages = paged.pages.length;
  const page = Math.min(s.ui.page, pages - 1);
  drawMessagePage(p, 'message', box, paged, page, l.body);
  drawNotes(p, warning, { x: c.x, y: box.y + box.h + 2, w: c.w, h: warning.length * infoLine - 2 }, infoLine, l.small);
  const y = full.y + full.h + l.margin / 2;
  p.text(
    'info.length',
    `${groupDigits(s.message.length)} bytes${paged.binary ? ' (not text: shown as hex)' : ''} · ${clockTime(s.receivedAt)} UTC${pages > 1 ? ` · page ${page + 1}/${pages}` : ''}`,
    c.x,
    y,
    { size: l.small, color: COLORS.dim, maxWidth: c.w },
  );
  p.text(
    'info.private',
    touch ? 'Shown only on this device; not sent to the laptop.' : 'Only on this device.',
    c.x,
    y + infoLine,
    {
      size: l.small,
      color: COLORS.dim,
      maxWidth: c.w,
    },
  );
  drawButtons(p, s, [
    ...(pages > 1 ? [{ id: 'more', label: 'More', kind: 'neutral' as const, slot: 0 as const }] : []),
    { id: 'done', label: 'Done', kind: 'neutral', slot: 2 },
  ]);
  return pages;
}
