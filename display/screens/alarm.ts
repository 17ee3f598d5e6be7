import { COLORS, type Painter } from '../paint.js';
import type { ScreenState } from '../screen-types.js';
import { clockTime, contentBox, drawButtons } from './common.js';

type AlarmState = Extract<ScreenState, { id: 'alarm' }>;

const TEXT: Record<AlarmState['alarm'], { title: string; short: string; body: string }> = {
  'hrng-failure': {
    title: 'HRNG FAILURE',
    short: 'HRNG FAILED',
    body: 'The random source failed its health tests. No pad is made until it passes again.',
  },
  forged: {
    title: 'FORGED PACKAGE',
    short: 'FORGED',
    body: 'A package failed authentication. It was discarded; nothing was decrypted.',
  },
  replay: {
    title: 'REPLAYED PACKAGE',
    short: 'REPLAY',
    body: 'A package for pad already received arrived again. It was discarded.',
  },
  'pad-burned': {
    title: 'PAD ALREADY USED',
    short: 'PAD USED',
    body: 'Pad bytes about to be used were already burned. Nothing was sent or accepted. Pair again.',
  },
  'pad-low': {
    title: 'PAD NEARLY USED UP',
    short: 'PAD LOW',
    body: 'Little pad is left for this contact. Pair again soon.',
  },
};

/** alarm: HRNG failure, forged or replayed package, burned pad bytes refused, pad nearly exhausted; one OK button. */
export function drawAlarm(p: Painter, s: AlarmState): void {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  const t = TEXT[s.alarm];
  p.rect({ x: c.x, y: c.y, w: c.w, h: Math.round(l.title * 1.6) }, COLORS.insecure);
  p.text('title', touch ? t.title : t.short, c.x + c.w / 2, c.y + Math.round(l.title * 0.2), {
    size: l.title,
    color: '#ffffff',
    align: 'center',
    maxWidth: c.w - 4,
  });
  let y = c.y + Math.round(l.title * 2);
  const line = Math.round(l.body * 1.3);
  const lines = p.measure(t.body, l.body) <= c.w ? [t.body] : splitInTwo(p, t.body, c.w, l.body);
  lines.forEach((b, i) => {
    p.text(`body.${i}`, b, c.x, y, { size: l.body, maxWidth: c.w });
    y += line;
  });
  y += l.margin / 2;
  s.detail.slice(0, touch ? 5 : 4).forEach((d, i) => {
    p.text(`detail.${i}`, d, c.x, y, { size: l.small, color: COLORS.dim, maxWidth: c.w });
    y += Math.round(l.small * 1.3);
  });
  p.text('time', `${clockTime(s.time)} UTC`, c.x, y, { size: l.small, color: COLORS.dim });
  drawButtons(p, s, [{ id: 'dismiss', label: 'OK', kind: 'neutral', slot: 2 }]);
}

/** Greedy word wrap for the alarm text (several lines on the small panel). */
function splitInTwo(p: Painter, text: string, w: number, size: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const cand = line ? `${line} ${word}` : word;
    if (p.measure(cand, size) > w && line) {
      out.push(line);
      line = word;
    } else line = cand;
  }
  if (line) out.push(line);
  return out;
}
