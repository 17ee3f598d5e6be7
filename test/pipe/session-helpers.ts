/**
 * Helpers of the pipe-session tests: a scripted session screen, and what the ledger says a pad has given up.
 */
import type {
  ConfirmDecision,
  Confirmer,
  ConfirmRequest,
  SessionDecision,
  SessionRequest,
  SessionView,
} from '../../device/confirm.js';
import type { DeviceEngine } from '../../device/engine.js';
import { sideAreas } from '../../device/layout.js';

/** A confirmer whose session screen answers from a script and records what it showed. */
export class SessionScreen implements Confirmer {
  readonly asked: SessionRequest[] = [];
  readonly views: SessionView[] = [];
  stop: (() => void) | null = null;
  constructor(
    public answer: SessionDecision | ((req: SessionRequest) => SessionDecision | Promise<SessionDecision>) = (r) => ({
      decision: 'approved',
      budgetBytes: r.budgetBytes,
      timeLimitSec: r.timeLimitSec,
    }),
    public plain: ConfirmDecision = 'denied',
  ) {}
  async confirm(_req: ConfirmRequest): Promise<ConfirmDecision> {
    return this.plain;
  }
  async confirmSession(req: SessionRequest): Promise<SessionDecision> {
    this.asked.push(req);
    return typeof this.answer === 'function' ? this.answer(req) : this.answer;
  }
  showSession(view: SessionView, stop: () => void): void {
    this.views.push(view);
    this.stop = stop;
  }
}

/** Pad bytes the sender's ledger shows as given up on its only pad: key slots taken plus stream moved. */
export function padGivenUp(engine: DeviceEngine): number {
  const p = engine.pads()[0];
  if (!p) throw new Error('no pad');
  const areas = sideAreas(p, p.side);
  const stream = p.side === 'A' ? p.cursor - areas.stream.start : areas.stream.end - p.cursor;
  return p.sendIndex * 32 + stream;
}
