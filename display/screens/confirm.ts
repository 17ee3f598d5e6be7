import { drawNotes, notesLines } from '../faithful-draw.js';
import { COLORS, type Painter } from '../paint.js';
import type { ScreenState } from '../screen-types.js';
import { groupDigits } from '../text.js';
import {
  contentBox,
  drawButtons,
  drawMessagePage,
  drawTitle,
  groupHex,
  guardedLabel,
  pageMessage,
  secondsLeft,
} from './common.js';

type EncryptState = Extract<ScreenState, { id: 'confirm-encrypt' }>;
type DecryptState = Extract<ScreenState, { id: 'confirm-decrypt' }>;

/**
 * confirm-encrypt: recipient, the message (paged), its length, the pad it costs, the pad left afterwards and
 * about how many messages that is, the fingerprint, a countdown; Deny, More (when paged) and Approve. Approve
 * is enabled only once every page has been on screen, and needs the deliberate gesture.
 * @returns the number of pages of the message
 */
export function drawConfirmEncrypt(p: Painter, s: EncryptState): number {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  // The contact's name is shown whole (wrapped, never cut): two long names that differ at the end stay apart.
  const titleH = drawTitle(p, touch ? `Encrypt for ${s.contact}?` : `To ${s.contact}?`, c);
  const infoLine = Math.round(l.small * 1.3);
  const infoLines = 4;
  // The warning line takes one info line from the message box when the message needs it, on every page.
  const full = { x: c.x, y: c.y + titleH, w: c.w, h: c.h - titleH - infoLines * infoLine - l.margin / 2 };
  let paged = pageMessage(p, s.message, full.w, full.h, l.body);
  const warning = notesLines(p, paged.notes, touch, c.w - 6, l.small);
  const msgBox = { ...full, h: full.h - warning.length * infoLine };
  if (warning.length > 0) paged = pageMessage(p, s.message, msgBox.w, msgBox.h, l.body);
  const pages = paged.pages.length;
  const page = Math.min(s.ui.page, pages - 1);
  drawMessagePage(p, 'message', msgBox, paged, page, l.body);
  drawNotes(
    p,
    warning,
    { x: c.x, y: msgBox.y + msgBox.h + 2, w: c.w, h: warning.length * infoLine - 2 },
    infoLine,
    l.small,
  );
  const infoTop = full.y + full.h;

  const secs = secondsLeft(s);
  const length = s.message.length;
  const info = touch
    ? [
        `${groupDigits(length)} bytes${paged.binary ? ' (not text: shown as hex)' : ''} · costs ${groupDigits(s.cost)} bytes of pad${pages > 1 ? ` · page ${page + 1}/${pages}` : ''}`,
        `Pad left after: ${groupDigits(s.remainingAfter)} bytes (about ${groupDigits(s.messagesLeftAfter)} messages)`,
        `Fingerprint: ${groupHex(s.fingerprint)}`,
        `Denied in ${secs} s${s.queued > 0 ? ` · ${s.queued} more waiting` : ''}`,
      ]
    : [
        `${groupDigits(length)} B, pad -${groupDigits(s.cost)} B${pages > 1 ? ` p${page + 1}/${pages}` : ''}${paged.binary ? ' hex' : ''}`,
        `left ${groupDigits(s.remainingAfter)} B ~${groupDigits(s.messagesLeftAfter)}`,
        `fp ${groupHex(s.fingerprint)}`,
        `deny in ${secs} s${s.queued > 0 ? ` +${s.queued}` : ''}`,
      ];
  const ids = ['info.length', 'info.left', 'info.fingerprint', 'info.countdown'];
  info.forEach((line, i) => {
    p.text(ids[i] ?? `info.${i}`, line, c.x, infoTop + l.margin / 2 + i * infoLine, {
      size: l.small,
      color: i === 3 && secs <= 10 ? COLORS.warn : i === 2 ? COLORS.fg : COLORS.dim,
      mono: i === 2,
      maxWidth: c.w,
    });
  });

  const allSeen = s.ui.seenPage >= pages - 1;
  drawButtons(p, s, [
    { id: 'deny', label: 'Deny', kind: 'deny', slot: 1 },
    ...(pages > 1 ? [{ id: 'more', label: 'More', kind: 'neutral' as const, slot: 0 as const }] : []),
    {
      id: 'approve',
      label: allSeen ? guardedLabel(s, l, 'approve', 'Approve') : touch ? 'Read every page first' : 'Read\nall',
      kind: 'approve',
      guarded: true,
      enabled: allSeen,
      slot: 2,
    },
  ]);
  return pages;
}

/** confirm-decrypt: who the package is from and how long it is; Deny and a guarded Approve. */
export function drawConfirmDecrypt(p: Painter, s: DecryptState): void {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  const titleH = drawTitle(p, touch ? `Decrypt a message from ${s.contact}?` : `From ${s.contact}?`, c);
  const line = Math.round(l.body * 1.5);
  const secs = secondsLeft(s);
  const lines = touch
    ? [
        `A message of ${groupDigits(s.length)} bytes arrived and was authenticated.`,
        'Approve to decrypt it.',
        `Denied in ${secs} s${s.queued > 0 ? ` · ${s.queued} more waiting` : ''}`,
      ]
    : [
        `${groupDigits(s.length)} B, authentic.`,
        'Decrypt it?',
        `deny in ${secs} s${s.queued > 0 ? ` +${s.queued}` : ''}`,
      ];
  const ids = ['info.length', 'info.question', 'info.countdown'];
  lines.forEach((t, i) => {
    p.text(ids[i] ?? `info.${i}`, t, c.x, c.y + titleH + Math.round(l.title * 0.6) + i * line, {
      size: l.body,
      color: i === 2 && secs <= 10 ? COLORS.warn : COLORS.fg,
      maxWidth: c.w,
    });
  });
  drawButtons(p, s, [
    { id: 'deny', label: 'Deny', kind: 'deny', slot: 1 },
    { id: 'approve', label: guardedLabel(s, l, 'approve', 'Approve'), kind: 'approve', guarded: true, slot: 2 },
  ]);
}
