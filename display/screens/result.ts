import { COLORS, type Painter } from '../paint.js';
import type { ScreenState } from '../screen-types.js';
import { contentBox, drawButtons, drawWrapped } from './common.js';

type ResultState = Extract<ScreenState, { id: 'result' }>;

const BANNER: Record<ResultState['outcome'], { color: string; label: string }> = {
  approved: { color: COLORS.approve, label: 'APPROVED' },
  denied: { color: COLORS.deny, label: 'DENIED' },
  timeout: { color: COLORS.neutral, label: 'TIMED OUT' },
};

/**
 * result: what became of the request just decided (approved, denied, or nobody answered in time), shown for a
 * moment before home; OK goes home at once.
 */
export function drawResult(p: Painter, s: ResultState): void {
  const l = p.layout;
  const c = contentBox(l);
  const b = BANNER[s.outcome];
  const bannerH = Math.round(l.title * 1.6);
  p.rect({ x: c.x, y: c.y, w: c.w, h: bannerH }, b.color);
  p.text('banner', b.label, c.x + c.w / 2, c.y + Math.round(l.title * 0.2), {
    size: l.title,
    color: '#ffffff',
    align: 'center',
  });
  let y = c.y + bannerH + l.margin;
  y += drawWrapped(p, 'title', s.title, c.x, y, c.w, { size: l.body }) + l.margin / 2;
  for (const [i, d] of s.detail.entries()) {
    y += drawWrapped(p, `detail.${i}`, d, c.x, y, c.w, { size: l.small, color: COLORS.dim });
  }
  drawButtons(p, s, [{ id: 'dismiss', label: 'OK', kind: 'neutral', slot: 2 }]);
}
