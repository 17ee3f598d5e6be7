import { charButton, KEYBOARD_MODES, MODE_LABEL, pickerChars, touchRows } from '../keyboard.js';
import { COLORS, type Painter } from '../paint.js';
import type { Box, ScreenState } from '../screen-types.js';
import { wrapText } from '../text.js';
import { contentBox, drawButtons } from './common.js';

type KeyboardState = Extract<ScreenState, { id: 'keyboard' }>;

/** Space drawn visibly in the value, so a trailing or doubled space can be seen. */
const SHOWN_SPACE = '\u2423';

/**
 * The value typed so far, whole: wrapped over as many lines as it needs (never cut), spaces drawn as ␣, with a
 * cursor bar after the last character. Returns the bottom of the panel.
 */
function drawValue(p: Painter, s: KeyboardState, box: Box, size: number, lines: number): number {
  const pad = Math.max(2, Math.round(p.layout.margin / 2));
  const lineH = Math.round(size * 1.3);
  const shown = s.value.replaceAll(' ', SHOWN_SPACE);
  const wrapped = shown ? wrapText(shown, box.w - 2 * pad - 4, (t) => p.measure(t, size, true)) : [''];
  const h = Math.max(lines, wrapped.length) * lineH + 2 * pad;
  p.rect({ ...box, h }, COLORS.panel);
  wrapped.forEach((line, i) => {
    p.text(`value.${i}`, line, box.x + pad, box.y + pad + i * lineH, { size, mono: true });
  });
  const last = wrapped[wrapped.length - 1] ?? '';
  const cx = box.x + pad + Math.ceil(p.measure(last, size, true)) + 1;
  p.rect({ x: cx, y: box.y + pad + (wrapped.length - 1) * lineH, w: 2, h: Math.round(size * 1.15) }, COLORS.fg);
  return box.y + h;
}

function drawNote(p: Painter, s: KeyboardState, x: number, y: number, w: number, size: number): number {
  const count = `${[...s.value].length}/${s.maxLength}`;
  const text = s.error ?? s.hint;
  const countW = Math.ceil(p.measure(count, size)) + p.layout.margin;
  const lines = wrapText(text, w - countW, (t) => p.measure(t, size));
  const lineH = Math.round(size * 1.25);
  lines.forEach((line, i) => {
    p.text(s.error ? `error.${i}` : `hint.${i}`, line, x, y + i * lineH, {
      size,
      color: s.error ? COLORS.warn : COLORS.dim,
    });
  });
  p.text('count', count, x + w, y, { size, color: COLORS.dim, align: 'right' });
  return y + lines.length * lineH;
}

/** Touch: rows of character keys, then shift, mode, space and delete; Cancel and the submit key at the bottom. */
function drawTouch(p: Painter, s: KeyboardState): void {
  const l = p.layout;
  const c = contentBox(l);
  p.text('title', s.title, c.x, c.y, { size: l.title, maxWidth: c.w });
  let y = c.y + Math.round(l.title * 1.35);
  y = drawValue(p, s, { x: c.x, y, w: c.w, h: 0 }, l.body, 1) + 4;
  y = drawNote(p, s, c.x, y, c.w, l.small) + 6;
  const bottom = c.y + c.h;
  const rows = touchRows(s);
  const gap = 4;
  const rowH = Math.floor((bottom - y - gap * rows.length) / (rows.length + 1));
  const unit = Math.floor((c.w - 9 * gap) / 10);
  const key = (id: string, label: string, x: number, ky: number, w: number) => {
    p.button(id, label, { x, y: ky, w, h: rowH }, { kind: 'neutral' });
  };
  rows.forEach((row, r) => {
    const ky = y + r * (rowH + gap);
    const rowW = row.length * unit + (row.length - 1) * gap;
    let x = c.x + Math.floor((c.w - rowW) / 2);
    for (const ch of row) {
      key(charButton(ch), ch, x, ky, unit);
      x += unit + gap;
    }
  });
  const ky = y + rows.length * (rowH + gap);
  const wide = 2 * unit + gap;
  key('shift', s.mode === 'upper' ? 'abc' : 'ABC', c.x, ky, wide);
  key('mode', s.mode === 'digits' ? 'abc' : '123', c.x + wide + gap, ky, wide);
  key('space', 'space', c.x + 2 * (wide + gap), ky, 4 * unit + 3 * gap);
  key('backspace', 'Delete', c.x + c.w - wide, ky, wide);
  drawButtons(p, s, [
    { id: 'cancel', label: 'Cancel', kind: 'deny', slot: 1 },
    { id: 'submit', label: s.submit, kind: 'approve', slot: 2 },
  ]);
}

/**
 * Keys: a picker strip of the mode's characters around the selected one (left/right move it, the joystick press
 * types it), the modes above it (up/down change mode); KEY1 Delete, KEY2 Cancel, KEY3 the submit key.
 */
function drawKeys(p: Painter, s: KeyboardState): void {
  const l = p.layout;
  const c = contentBox(l);
  p.text('title', s.title, c.x, c.y, { size: l.title, maxWidth: c.w });
  let y = c.y + Math.round(l.title * 1.4);
  y = drawValue(p, s, { x: c.x, y, w: c.w, h: 0 }, l.body, 1) + 3;
  y = drawNote(p, s, c.x, y, c.w, l.small) + 4;

  // Modes: ▲ above, ▼ below the strip; the current one is named on the strip's side.
  const chars = pickerChars(s);
  const cell = Math.floor(c.w / 7);
  const stripY = Math.max(y + cell, c.y + c.h - 2 * cell - 6);
  const modeH = Math.round(l.small * 1.5);
  const i = KEYBOARD_MODES.indexOf(s.mode);
  const prev = KEYBOARD_MODES[(i + KEYBOARD_MODES.length - 1) % KEYBOARD_MODES.length] ?? 'lower';
  const next = KEYBOARD_MODES[(i + 1) % KEYBOARD_MODES.length] ?? 'lower';
  p.button(
    'mode.prev',
    `\u25B2 ${MODE_LABEL[prev]}`,
    { x: c.x + 2 * cell, y: stripY - modeH - 3, w: 3 * cell, h: modeH },
    {
      kind: 'neutral',
      key: 'up',
    },
  );
  p.button('pick.prev', '\u25C0', { x: c.x, y: stripY, w: cell, h: cell }, { kind: 'neutral', key: 'left' });
  for (let d = -2; d <= 2; d++) {
    const ch = chars[(((s.selected + d) % chars.length) + chars.length) % chars.length] ?? '';
    const label = ch === ' ' ? SHOWN_SPACE : ch;
    const x = c.x + (d + 3) * cell;
    if (d === 0) {
      p.button('pick.enter', label, { x, y: stripY, w: cell, h: cell }, { kind: 'approve', key: 'press' });
    } else {
      p.text(`pick.${d + 2}`, label, x + cell / 2, stripY + Math.round((cell - l.body * 1.2) / 2), {
        size: l.body,
        color: COLORS.dim,
        align: 'center',
        mono: true,
      });
    }
  }
  p.button(
    'pick.next',
    '\u25B6',
    { x: c.x + 6 * cell, y: stripY, w: cell, h: cell },
    { kind: 'neutral', key: 'right' },
  );
  p.button(
    'mode.next',
    `\u25BC ${MODE_LABEL[next]}`,
    { x: c.x + 2 * cell, y: stripY + cell + 3, w: 3 * cell, h: modeH },
    {
      kind: 'neutral',
      key: 'down',
    },
  );
  drawButtons(p, s, [
    { id: 'backspace', label: 'Delete', kind: 'neutral', slot: 0 },
    { id: 'cancel', label: 'Cancel', kind: 'deny', slot: 1 },
    { id: 'submit', label: s.submit, kind: 'approve', slot: 2 },
  ]);
}

/**
 * keyboard: a line of text typed on the device. The value is shown whole (wrapped, spaces visible) with its
 * length and limit, the hint or the reason it was refused, and the keys: a full keyboard on touch, a picker on the
 * keys layout.
 */
export function drawKeyboard(p: Painter, s: KeyboardState): void {
  if (p.layout.input === 'touch') drawTouch(p, s);
  else drawKeys(p, s);
}
