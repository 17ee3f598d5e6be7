/**
 * The session screens through the confirmation service on a simulated panel: the request (Budget and Time change
 * what is approved), the live screen (Stop), and the end.
 */
import { describe, expect, it } from 'vitest';
import type { SessionDecision, SessionRequest, SessionView } from '../../device/confirm.js';
import { BUDGET_PRESETS, ConfirmService, nextPreset, TIME_PRESETS } from '../../display/confirm-service.js';
import { simUi } from '../display/helpers.js';

const REQ: SessionRequest = {
  kind: 'session',
  contact: 'bob',
  budgetBytes: 10 * 2 ** 20,
  timeLimitSec: 1800,
  frameSize: 1024,
  padLeft: 500 * 2 ** 20,
  keySlotsLeft: 100_000,
  streamLeft: 490 * 2 ** 20,
  insecure: false,
};

function view(extra: Partial<SessionView> = {}): SessionView {
  return {
    id: 'a'.repeat(32),
    contact: 'bob',
    budgetBytes: 2 ** 20,
    usedBytes: 4096,
    sentBytes: 3000,
    receivedBytes: 120,
    framesSent: 3,
    framesReceived: 1,
    frameSize: 1024,
    expiresAt: Date.now() + 600_000,
    state: 'running',
    endReason: null,
    insecure: false,
    ...extra,
  };
}

function setup() {
  const s = simUi({ gesture: 'hold' });
  let idle = 0;
  const service = new ConfirmService({
    ui: s.ui,
    clock: s.clock,
    config: { timeoutMs: 60_000, queueLength: 2 },
    onIdle: () => {
      idle++;
      s.ui.show({ id: 'home', contacts: [], hrng: { healthy: true, poolBytes: 0, poolCapacity: 1 }, warnings: [] });
    },
  });
  return { ...s, service, idle: () => idle };
}

describe('session screens', () => {
  it('presets step down from the ask and wrap', () => {
    expect(nextPreset(BUDGET_PRESETS, 10 * 2 ** 20, 10 * 2 ** 20)).toBe(2 ** 20);
    expect(nextPreset(BUDGET_PRESETS, 10 * 2 ** 20, 64 * 2 ** 10)).toBe(4 * 2 ** 30);
    expect(nextPreset(TIME_PRESETS, 1800, 3600)).toBe(1800);
  });

  it('the owner lowers budget and time on screen; Approve answers what the screen showed', async () => {
    const s = setup();
    const p = s.service.confirmSession(REQ);
    expect(s.ui.state?.id).toBe('session-request');
    expect(s.text('title')).toBe('Open a pipe to bob?');
    expect(s.text('info.budget')).toBe('Budget: 10.00 MiB of pad');
    expect(s.text('info.padding')).toContain('1,056 bytes of pad');
    s.tap('budget');
    s.tap('time');
    s.tap('time');
    expect(s.text('info.budget')).toBe('Budget: 1.00 MiB of pad (changed by you)');
    expect(s.text('info.time')).toBe('Time limit: 1 min 00 s (changed by you)');
    s.hold('approve', 1200);
    const d: SessionDecision = await p;
    expect(d).toEqual({ decision: 'approved', budgetBytes: 2 ** 20, timeLimitSec: 60 });
  });

  it('Deny and the timeout open nothing', async () => {
    const s = setup();
    const p = s.service.confirmSession(REQ);
    s.tap('deny');
    expect(await p).toEqual({ decision: 'denied' });
    const q = s.service.confirmSession(REQ);
    s.clock.advance(60_001);
    expect(await q).toEqual({ decision: 'timeout' });
  });

  it('a tap on Approve alone (no hold) approves nothing', async () => {
    const s = setup();
    const p = s.service.confirmSession(REQ);
    let settled = false;
    void p.then(() => {
      settled = true;
    });
    s.tap('approve');
    await new Promise((r) => setTimeout(r, 0));
    expect(settled).toBe(false);
    s.tap('deny');
    expect(await p).toEqual({ decision: 'denied' });
  });

  it('the live screen shows the session; Stop stops it; its end is said, then home', () => {
    const s = setup();
    let stopped = 0;
    s.service.showSession(view(), () => stopped++);
    expect(s.ui.state?.id).toBe('session-live');
    expect(s.text('info.used')).toBe('Pad used: 4.0 KiB of 1.00 MiB (0%)');
    s.tap('stop');
    expect(stopped).toBe(1);
    s.service.showSession(view({ state: 'ended', endReason: 'stopped' }), () => stopped++);
    expect(s.ui.state?.id).toBe('result');
    expect(s.text('title.0')).toContain('you pressed Stop');
    s.clock.advance(2500);
    expect(s.ui.state?.id).toBe('home');
  });

  it('a request that comes while a pipe runs covers it, and the pipe comes back after', async () => {
    const s = setup();
    s.service.showSession(view(), () => undefined);
    const p = s.service.confirm({
      kind: 'encrypt',
      contact: 'carol',
      plaintext: new TextEncoder().encode('hi'),
      cost: 34,
      remainingAfter: 1,
      messagesLeftAfter: 1,
      fingerprint: '00',
      insecure: false,
    });
    expect(s.ui.state?.id).toBe('confirm-encrypt');
    s.tap('deny');
    expect(await p).toBe('denied');
    s.clock.advance(2500);
    expect(s.ui.state?.id).toBe('session-live');
  });
});
