import { COLORS, type Painter } from '../paint.js';
import type { ScreenState } from '../screen-types.js';
import { formatBytes, formatSeconds, groupDigits } from '../text.js';
import { contentBox, drawButtons, drawTitle, guardedLabel, secondsLeft } from './common.js';

type RequestState = Extract<ScreenState, { id: 'session-request' }>;
type LiveState = Extract<ScreenState, { id: 'session-live' }>;

/** Pad bytes per payload byte for a frame of `payload` bytes (padded to `frameSize` when set). */
function costLine(frameSize: number | null, touch: boolean): string {
  if (frameSize === null) {
    return touch ? 'No padding: a frame costs its length + 32 bytes of pad (one key slot).' : 'no padding: len+32 B';
  }
  const per = frameSize + 32;
  return touch
    ? `Padding: every frame is ${groupDigits(frameSize)} bytes, so costs ${groupDigits(per)} bytes of pad, whatever it holds.`
    : `pad to ${groupDigits(frameSize)}: ${groupDigits(per)} B/frame`;
}

/**
 * session-request: a pipe to a contact asks to start. The budget (pad bytes) and time limit, which Budget and
 * Time change (each tap the next preset, the laptop's ask among them), the padding and its pad cost, what the pad
 * has left; Deny and a guarded Approve. Inside the session no frame is asked about again.
 */
export function drawSessionRequest(p: Painter, s: RequestState): void {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  const titleH = drawTitle(p, touch ? `Open a pipe to ${s.contact}?` : `Pipe ${s.contact}?`, c);
  const secs = secondsLeft(s);
  const changed = (now: number, asked: number) => (now === asked ? '' : touch ? ' (changed by you)' : ' *');
  const lines = touch
    ? [
        `Budget: ${formatBytes(s.budgetBytes)} of pad${changed(s.budgetBytes, s.askedBudget)}`,
        `Time limit: ${formatSeconds(s.timeLimitSec)}${changed(s.timeLimitSec, s.askedTime)}`,
        costLine(s.frameSize, true),
        `Pad left: ${formatBytes(s.padLeft)} (${groupDigits(s.keySlotsLeft)} key slots, ${formatBytes(s.streamLeft)} stream)`,
        'Then frames go without asking, until budget or time ends, or Stop.',
        `Denied in ${secs} s${s.queued > 0 ? ` · ${s.queued} more waiting` : ''}`,
      ]
    : [
        `budget ${formatBytes(s.budgetBytes)}${changed(s.budgetBytes, s.askedBudget)}`,
        `time ${formatSeconds(s.timeLimitSec)}${changed(s.timeLimitSec, s.askedTime)}`,
        costLine(s.frameSize, false),
        `left ${formatBytes(s.padLeft)}`,
        'no more asking',
        `deny in ${secs} s${s.queued > 0 ? ` +${s.queued}` : ''}`,
      ];
  const ids = ['info.budget', 'info.time', 'info.padding', 'info.left', 'info.note', 'info.countdown'];
  const line = Math.round(l.small * 1.45);
  lines.forEach((t, i) => {
    p.text(ids[i] ?? `info.${i}`, t, c.x, c.y + titleH + Math.round(l.margin / 2) + i * line, {
      size: l.small,
      color: i === 5 && secs <= 10 ? COLORS.warn : i < 2 ? COLORS.fg : COLORS.dim,
      maxWidth: c.w,
    });
  });
  const approve = {
    id: 'approve',
    label: guardedLabel(s, l, 'approve', 'Open'),
    kind: 'approve' as const,
    guarded: true,
    slot: 2 as const,
  };
  if (touch) {
    drawButtons(p, s, [
      { id: 'budget', label: 'Budget', kind: 'neutral', slot: 0 },
      { id: 'time', label: 'Time', kind: 'neutral', slot: 0 },
      { id: 'deny', label: 'Deny', kind: 'deny', slot: 1 },
      approve,
    ]);
    return;
  }
  drawButtons(p, s, [
    { id: 'budget', label: 'Budget', kind: 'neutral', slot: 0 },
    { id: 'deny', label: 'Deny', kind: 'deny', slot: 1 },
    approve,
  ]);
  // The joystick's press changes the time limit (the three keys are taken).
  const h = Math.round(l.small * 1.6);
  p.button(
    'time',
    'Time (press)',
    { x: c.x, y: l.height - h - 2, w: Math.min(c.w, 140), h },
    {
      kind: 'neutral',
      enabled: true,
      guarded: false,
      progress: 0,
      key: 'press',
    },
  );
}

/**
 * session-live: a pipe is running: pad used of the budget (a bar), bytes and frames each way, pad per byte sent,
 * time left; Stop ends it at once.
 */
export function drawSessionLive(p: Painter, s: LiveState): void {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  const titleH = drawTitle(p, touch ? `Pipe to ${s.contact} running` : `Pipe ${s.contact}`, c);
  const frac = s.budgetBytes > 0 ? Math.min(1, s.usedBytes / s.budgetBytes) : 1;
  const barY = c.y + titleH + Math.round(l.margin / 2);
  const barH = Math.round(l.small * 1.2);
  p.rect({ x: c.x, y: barY, w: c.w, h: barH }, COLORS.panel);
  p.rect({ x: c.x, y: barY, w: Math.round(c.w * frac), h: barH }, frac > 0.9 ? COLORS.warn : COLORS.progress);
  const left = Math.max(0, (s.expiresAt - s.now) / 1000);
  const perByte = s.sentBytes > 0 ? (s.usedBytes / s.sentBytes).toFixed(2) : '-';
  const lines = touch
    ? [
        `Pad used: ${formatBytes(s.usedBytes)} of ${formatBytes(s.budgetBytes)} (${Math.floor(frac * 100)}%)`,
        `Sent ${formatBytes(s.sentBytes)} in ${groupDigits(s.framesSent)} frames · received ${formatBytes(s.receivedBytes)} in ${groupDigits(s.framesReceived)}`,
        `Pad per byte sent: ${perByte}${s.frameSize !== null ? ` (padded to ${groupDigits(s.frameSize)} bytes)` : ''}`,
        `Time left: ${formatSeconds(left)}`,
      ]
    : [
        `pad ${formatBytes(s.usedBytes)}/${formatBytes(s.budgetBytes)}`,
        `out ${formatBytes(s.sentBytes)} in ${formatBytes(s.receivedBytes)}`,
        `pad/B ${perByte}${s.frameSize !== null ? ' pad' : ''}`,
        `${formatSeconds(left)} left`,
      ];
  const ids = ['info.used', 'info.bytes', 'info.cost', 'info.time'];
  const line = Math.round(l.small * 1.45);
  lines.forEach((t, i) => {
    p.text(ids[i] ?? `info.${i}`, t, c.x, barY + barH + Math.round(l.margin / 2) + i * line, {
      size: l.small,
      color: i === 3 && left <= 30 ? COLORS.warn : COLORS.fg,
      maxWidth: c.w,
    });
  });
  drawButtons(p, s, [{ id: 'stop', label: 'Stop', kind: 'deny', slot: 2 }]);
}
