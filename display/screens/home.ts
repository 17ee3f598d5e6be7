import { COLORS, type Painter } from '../paint.js';
import type { ScreenState } from '../screen-types.js';
import { formatBytes, groupDigits } from '../text.js';
import { type ButtonSpec, clockTime, contentBox, drawButtons } from './common.js';

type HomeState = Extract<ScreenState, { id: 'home' }>;

/** home: contacts with pad left, HRNG health and pool level, the last warnings from the event log. */
export function drawHome(p: Painter, s: HomeState): void {
  const l = p.layout;
  const touch = l.input === 'touch';
  // Touch: the Pair button runs along the bottom; keys: it sits in the right-hand key column.
  const c = {
    ...contentBox(l),
    w: l.width - 2 * l.margin - (touch ? 0 : l.controls),
    h: l.height - l.band - 2 * l.margin - (touch ? l.controls : 0),
  };
  const row = Math.round(l.body * 1.35);
  const small = Math.round(l.small * 1.3);

  // HRNG health and pool, at the top.
  const poolPct = s.hrng.poolCapacity > 0 ? Math.round((100 * s.hrng.poolBytes) / s.hrng.poolCapacity) : 0;
  p.text('hrng.health', s.hrng.healthy ? 'HRNG ok' : 'HRNG FAILED', c.x, c.y, {
    size: l.body,
    color: s.hrng.healthy ? COLORS.ok : COLORS.insecure,
  });
  const barX = c.x + Math.round(p.measure('HRNG FAILED', l.body)) + l.margin;
  const barW = touch ? 220 : c.w - (barX - c.x);
  p.rect({ x: barX, y: c.y + 2, w: barW, h: l.body - 2 }, COLORS.panel);
  p.rect({ x: barX, y: c.y + 2, w: Math.round((barW * Math.min(100, poolPct)) / 100), h: l.body - 2 }, COLORS.ok);
  // A failing source (from the filler's latch) takes the pool line's place: which source, which test.
  const failing = !s.hrng.healthy && s.hrng.failing ? s.hrng.failing : null;
  p.text(
    failing ? 'hrng.failing' : 'hrng.pool',
    failing ?? (touch ? `pool ${formatBytes(s.hrng.poolBytes)} (${poolPct}%)` : `pool ${poolPct}%`),
    touch ? barX + barW + l.margin : c.x,
    touch ? c.y : c.y + row,
    {
      size: l.small,
      color: failing ? COLORS.insecure : COLORS.dim,
      maxWidth: touch ? c.w - (barX + barW + l.margin - c.x) : c.w,
    },
  );

  // Contacts.
  let y = c.y + (touch ? row : 2 * row) + l.margin / 2;
  p.text('contacts.title', s.contacts.length ? 'Contacts' : 'No contacts yet: pair with someone', c.x, y, {
    size: l.small,
    color: COLORS.dim,
  });
  y += small;
  const maxContacts = touch ? 6 : 4;
  s.contacts.slice(0, maxContacts).forEach((ct, i) => {
    const name = ct.insecure ? `${ct.name} (insecure)` : ct.name;
    p.text(`contact.${i}.name`, name, c.x, y, {
      size: l.body,
      color: ct.insecure ? COLORS.insecure : COLORS.fg,
      maxWidth: touch ? c.w / 2 : c.w * 0.45,
    });
    const left = touch
      ? `${formatBytes(ct.padLeft)} left · about ${groupDigits(ct.messagesLeft)} messages`
      : `${formatBytes(ct.padLeft)} ~${groupDigits(ct.messagesLeft)}`;
    p.text(`contact.${i}.left`, left, c.x + c.w, y, { size: l.small, color: COLORS.dim, align: 'right' });
    y += row;
  });
  if (s.contacts.length > maxContacts) {
    p.text('contacts.more', `+${s.contacts.length - maxContacts} more`, c.x, y, { size: l.small, color: COLORS.dim });
    y += small;
  }

  // Recent warnings, newest first, at the bottom.
  const maxWarn = touch ? 4 : 3;
  const warnings = s.warnings.slice(0, maxWarn);
  const bottom = l.height - l.margin - (touch ? l.controls : 0);
  let wy = bottom - warnings.length * small - (warnings.length ? small : 0);
  if (warnings.length) {
    p.text('warnings.title', 'Recent warnings', c.x, wy, { size: l.small, color: COLORS.warn });
    wy += small;
  }
  warnings.forEach((w, i) => {
    p.text(`warning.${i}`, `${clockTime(w.time)} ${w.text}`, c.x, wy, {
      size: l.small,
      color: COLORS.warn,
      maxWidth: c.w,
    });
    wy += small;
  });
  // Stop (or Resume) the background jobs: filling the pool, burning an abandoned pad.
  const buttons: ButtonSpec[] = [];
  if (s.jobs === 'stop') buttons.push({ id: 'jobs-stop', label: 'Stop', kind: 'deny', slot: 0 });
  if (s.jobs === 'resume') buttons.push({ id: 'jobs-resume', label: 'Resume', kind: 'neutral', slot: 0 });
  buttons.push({ id: 'pair', label: 'Pair', kind: 'neutral', slot: 2 });
  drawButtons(p, s, buttons);
}
