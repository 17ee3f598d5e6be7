import { COLORS, type Painter } from '../paint.js';
import type { ScreenState } from '../screen-types.js';
import { contentBox, drawButtons, guardedLabel } from './common.js';

type SetupState = Extract<ScreenState, { id: 'setup' }>;

/**
 * setup (first boot): the device proposes a name, then the owner's word; the user asks for Another until one
 * suits, then holds Keep. The word is shown in the trusted band of every screen afterwards.
 */
export function drawSetup(p: Painter, s: SetupState): void {
  const l = p.layout;
  const c = contentBox(l);
  const touch = l.input === 'touch';
  const title =
    s.step === 'name' ? (touch ? 'Name this device' : 'Device name') : touch ? 'Choose your word' : 'Your word';
  p.text('title', title, c.x, c.y, { size: l.title, maxWidth: c.w });
  p.text('value', s.value, c.x, c.y + Math.round(l.title * 2), { size: Math.round(l.title * 1.4), maxWidth: c.w });
  const hint =
    s.step === 'name'
      ? touch
        ? 'Other devices will know this one by this name.'
        : 'Peers see it.'
      : touch
        ? 'It will stand at the top of every screen: if it is missing, the screen is not this device.'
        : 'Shown on every screen.';
  p.text('hint', hint, c.x, c.y + Math.round(l.title * 4), { size: l.small, color: COLORS.dim, maxWidth: c.w });
  drawButtons(p, s, [
    { id: 'another', label: 'Another', kind: 'neutral', slot: 1 },
    { id: 'keep', label: guardedLabel(s, l, 'keep', 'Keep'), kind: 'approve', guarded: true, slot: 2 },
  ]);
}
