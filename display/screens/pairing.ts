import { COLORS, type Painter } from '../paint.js';
import type { ScreenState } from '../screen-types.js';
import { formatBytes, formatSeconds } from '../text.js';
import { contentBox, drawButtons, drawTitle, groupHex, guardedLabel } from './common.js';

type StartState = Extract<ScreenState, { id: 'pairing-start' }>;
type ProgressState = Extract<ScreenState, { id: 'pairing-progress' }>;
type CompareState = Extract<ScreenState, { id: 'pairing-compare' }>;

/** pairing-start: join the devices with the cable; one user picks Start (side A), the other Join (side B). */
export function drawPairingStart(p: Painter, s: StartState): void {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  p.text('title', touch ? 'Pair with another device' : 'Pair', c.x, c.y, { size: l.title, maxWidth: c.w });
  const line = Math.round(l.body * 1.4);
  const lines = touch
    ? [
        'Join the two devices with the cable.',
        'One of you picks Start, the other Join.',
        `Pool: ${formatBytes(s.poolBytes)} for the new pad.`,
      ]
    : ['Cable the two', 'devices. One picks', 'Start, one Join.', `Pool ${formatBytes(s.poolBytes)}`];
  lines.forEach((t, i) => {
    p.text(`hint.${i}`, t, c.x, c.y + Math.round(l.title * 1.8) + i * line, { size: l.body, maxWidth: c.w });
  });
  drawButtons(p, s, [
    { id: 'cancel', label: 'Cancel', kind: 'deny', slot: 0 },
    { id: 'join', label: 'Join', kind: 'neutral', slot: 1 },
    { id: 'start', label: 'Start', kind: 'neutral', slot: 2 },
  ]);
}

/**
 * pairing-progress: bytes so far of the total, the rate, the time left; Cancel. Before the peer answered (no
 * total yet) it says it is waiting for the other device instead of showing empty figures.
 */
export function drawPairingProgress(p: Painter, s: ProgressState): void {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  if (s.total <= 0) {
    p.text('title', touch ? 'Waiting for the other device' : 'Waiting for peer', c.x, c.y, {
      size: l.title,
      maxWidth: c.w,
    });
    const lines = touch
      ? [
          'Check the cable between the two devices.',
          'The other device must pick Join if you picked Start,',
          'or Start if you picked Join.',
        ]
      : ['Check the cable.', 'The other device', 'picks the other', 'of Start / Join.'];
    const line = Math.round(l.body * 1.4);
    lines.forEach((t, i) => {
      p.text(`waiting.${i}`, t, c.x, c.y + Math.round(l.title * 1.8) + i * line, { size: l.body, maxWidth: c.w });
    });
    drawButtons(p, s, [{ id: 'cancel', label: 'Cancel', kind: 'deny', slot: 1 }]);
    return;
  }
  p.text('title', touch ? `Making a pad with ${s.peer}` : `Pad with ${s.peer}`, c.x, c.y, {
    size: l.title,
    maxWidth: c.w,
  });
  const pct = s.total > 0 ? Math.min(100, Math.floor((100 * s.bytes) / s.total)) : 0;
  const barY = c.y + Math.round(l.title * 1.8);
  const barH = Math.round(l.body * 1.4);
  p.rect({ x: c.x, y: barY, w: c.w, h: barH }, COLORS.panel);
  p.rect({ x: c.x, y: barY, w: Math.round((c.w * pct) / 100), h: barH }, COLORS.progress);
  const line = Math.round(l.body * 1.4);
  const lines = [
    touch ? `${formatBytes(s.bytes)} of ${formatBytes(s.total)} (${pct}%)` : `${pct}% of ${formatBytes(s.total)}`,
    `${formatBytes(s.bytesPerSecond)}/s`,
    touch ? `about ${formatSeconds(s.secondsLeft)} left` : `${formatSeconds(s.secondsLeft)} left`,
  ];
  const ids = ['progress.bytes', 'progress.rate', 'progress.left'];
  lines.forEach((t, i) => {
    p.text(ids[i] ?? `progress.${i}`, t, c.x, barY + barH + l.margin + i * line, { size: l.body, maxWidth: c.w });
  });
  drawButtons(p, s, [{ id: 'cancel', label: 'Cancel', kind: 'deny', slot: 1 }]);
}

/** pairing-compare: the pad fingerprint to compare with the peer's screen; Different and a guarded Match. */
export function drawPairingCompare(p: Painter, s: CompareState): void {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  const titleH = drawTitle(p, touch ? `Compare with ${s.peer}'s screen` : `Compare: ${s.peer}`, c);
  const groups = groupHex(s.fingerprint).split(' ');
  const perLine = touch ? 6 : 3;
  const size = touch ? l.title : l.body;
  const line = Math.round(size * 1.4);
  let y = c.y + titleH + Math.round(l.title * 0.6);
  for (let i = 0; i * perLine < groups.length; i++) {
    p.text(`fingerprint.${i}`, groups.slice(i * perLine, (i + 1) * perLine).join(' '), c.x, y, {
      size,
      mono: true,
      maxWidth: c.w,
    });
    y += line;
  }
  p.text(
    'hint',
    touch ? 'Match only if every character is the same on both devices.' : 'All the same?',
    c.x,
    y + l.margin / 2,
    {
      size: l.small,
      color: COLORS.dim,
      maxWidth: c.w,
    },
  );
  drawButtons(p, s, [
    { id: 'mismatch', label: touch ? 'Different' : 'Not\nsame', kind: 'deny', slot: 1 },
    { id: 'match', label: guardedLabel(s, l, 'match', 'Match'), kind: 'approve', guarded: true, slot: 2 },
  ]);
}
