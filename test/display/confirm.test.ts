import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import type { ConfirmDecision, ConfirmRequest, EncryptRequest } from '../../device/confirm.js';
import { ManualClock } from '../../display/clock.js';
import { ConfirmService, type ConfirmUi } from '../../display/confirm-service.js';
import type { UiAction } from '../../display/ui.js';
import { simUi } from './helpers.js';

function encryptReq(text: string, contact = 'alice', insecure = false): EncryptRequest {
  const plaintext = new TextEncoder().encode(text);
  return {
    kind: 'encrypt',
    contact,
    plaintext,
    cost: plaintext.length + 32,
    remainingAfter: 10_000,
    messagesLeftAfter: 50,
    fingerprint: 'c0ffee00',
    insecure,
  };
}

function setup(timeoutMs = 60_000, queueLength = 2, gesture: 'hold' | 'second-tap' = 'hold') {
  const s = simUi({ gesture });
  let idle = 0;
  const service = new ConfirmService({
    ui: s.ui,
    clock: s.clock,
    config: { timeoutMs, queueLength },
    onIdle: () => {
      idle++;
      s.ui.show({ id: 'home', contacts: [], hrng: { healthy: true, poolBytes: 0, poolCapacity: 1 }, warnings: [] });
    },
  });
  const decisions: ConfirmDecision[] = [];
  const ask = (req: ConfirmRequest = encryptReq('hello'), signal?: AbortSignal) => {
    const p = service.confirm(req, signal);
    void p.then((d) => decisions.push(d));
    return p;
  };
  return { ...s, service, ask, decisions, idle: () => idle };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('confirmation service', () => {
  it('uses the confirm config section: defaults 60 s and 4', () => {
    const cfg = parseConfig({ dataDir: '/tmp/x' });
    expect(cfg.confirm.timeoutMs).toBe(60_000);
    expect(cfg.confirm.queueLength).toBe(4);
  });

  it('shows the request and returns approved after the hold, then goes idle', async () => {
    const s = setup();
    const p = s.ask(encryptReq('Meet at noon', 'carol'));
    expect(s.ui.state?.id).toBe('confirm-encrypt');
    expect(s.text('title')).toBe('Encrypt for carol?');
    expect(s.text('message.0')).toBe('Meet at noon');
    expect(s.text('info.countdown')).toBe('Denied in 60 s');
    s.hold('approve', 1200);
    expect(await p).toBe('approved');
    // A short result first, then home.
    expect(s.ui.state?.id).toBe('result');
    expect(s.text('banner')).toBe('APPROVED');
    expect(s.text('title.0')).toContain('carol');
    expect(s.idle()).toBe(0);
    s.clock.advance(2500);
    expect(s.idle()).toBe(1);
    expect(s.ui.state?.id).toBe('home');
  });

  it('the result says what happened after deny and after timeout; OK goes home at once', async () => {
    const s = setup(30_000);
    const d = s.ask(encryptReq('no', 'dave'));
    s.tap('deny');
    expect(await d).toBe('denied');
    expect(s.text('banner')).toBe('DENIED');
    expect(
      s.ui
        .debugLayout()
        ?.texts.map((t) => t.text)
        .join(' '),
    ).toContain('No pad was used');
    s.tap('dismiss');
    expect(s.ui.state?.id).toBe('home');
    expect(s.idle()).toBe(1);
    const t = s.ask({ kind: 'decrypt', contact: 'erin', length: 10, insecure: false });
    s.clock.advance(30_000);
    expect(await t).toBe('timeout');
    expect(s.text('banner')).toBe('TIMED OUT');
    expect(s.text('title.0')).toContain('erin');
    // A request that comes while the result is up replaces it at once; the result's timer then does nothing.
    const n = s.ask(encryptReq('next', 'fay'));
    expect(s.ui.state?.id).toBe('confirm-encrypt');
    s.clock.advance(2500);
    expect(s.ui.state?.id).toBe('confirm-encrypt');
    expect(s.idle()).toBe(1);
    s.tap('deny');
    expect(await n).toBe('denied');
  });

  it('requests waiting in front of the service (the link server queue) are counted on screen', async () => {
    const s = setup();
    const p = s.ask(encryptReq('first', 'a'));
    expect(s.text('info.countdown')).toBe('Denied in 60 s');
    s.service.waitingOutside(3);
    expect(s.service.waiting).toBe(3);
    expect(s.text('info.countdown')).toBe('Denied in 60 s · 3 more waiting');
    s.service.waitingOutside(1);
    expect(s.text('info.countdown')).toBe('Denied in 60 s · 1 more waiting');
    s.tap('deny');
    await p;
  });

  it('Deny gives denied', async () => {
    const s = setup();
    const p = s.ask();
    s.tap('deny');
    expect(await p).toBe('denied');
  });

  it('the timeout gives timeout, and not a millisecond before', async () => {
    const s = setup(30_000);
    const p = s.ask();
    s.clock.advance(29_999);
    await tick();
    expect(s.decisions).toEqual([]);
    expect(s.text('info.countdown')).toBe('Denied in 1 s');
    s.clock.advance(1);
    expect(await p).toBe('timeout');
  });

  it('a bounded FIFO: queueLength wait, the next is busy; they are shown in order', async () => {
    const s = setup(60_000, 2);
    const a = s.ask(encryptReq('first', 'a'));
    const b = s.ask(encryptReq('second', 'b'));
    const c = s.ask(encryptReq('third', 'c'));
    expect(await s.ask(encryptReq('fourth', 'd'))).toBe('busy');
    expect(s.service.waiting).toBe(2);
    expect(s.text('info.countdown')).toBe('Denied in 60 s · 2 more waiting');
    s.tap('deny');
    expect(await a).toBe('denied');
    expect(s.text('title')).toBe('Encrypt for b?');
    expect(s.text('info.countdown')).toBe('Denied in 60 s · 1 more waiting');
    s.hold('approve', 1200);
    expect(await b).toBe('approved');
    expect(s.text('title')).toBe('Encrypt for c?');
    s.clock.advance(60_000);
    expect(await c).toBe('timeout');
    s.clock.advance(2500);
    expect(s.idle()).toBe(1);
  });

  it('queueLength 0: one on screen, any other is busy', async () => {
    const s = setup(60_000, 0);
    void s.ask();
    expect(await s.ask()).toBe('busy');
  });

  it('approval of request N never applies to request N+1 (hold across the switch)', async () => {
    const s = setup(10_000, 2);
    const n = s.ask(encryptReq('N', 'n'));
    const n1 = s.ask(encryptReq('N+1', 'n1'));
    const [x, y] = s.centre('approve');
    // The hold starts on N; N times out under the finger; N+1 appears in the same place.
    s.clock.advance(9_500);
    s.input.press(x, y);
    s.clock.advance(500);
    expect(await n).toBe('timeout');
    expect(s.text('title')).toBe('Encrypt for n1?');
    s.clock.advance(5_000);
    s.input.release(x, y);
    await tick();
    expect(s.decisions).toEqual(['timeout']);
    s.clock.advance(10_000);
    expect(await n1).toBe('timeout');
  });

  it('an action carrying an earlier request’s instance is ignored', async () => {
    const shows: number[] = [];
    let fire: (a: UiAction) => void = () => {};
    let next = 10;
    const ui: ConfirmUi = {
      show: () => {
        shows.push(++next);
        return next;
      },
      update: () => {},
      onAction: (l) => {
        fire = l;
        return () => {};
      },
    };
    const clock = new ManualClock();
    const service = new ConfirmService({ ui, clock, config: { timeoutMs: 5000, queueLength: 1 }, onIdle: () => {} });
    const got: ConfirmDecision[] = [];
    const n = service.confirm(encryptReq('N'));
    const n1 = service.confirm(encryptReq('N+1'));
    void n1.then((d) => got.push(d));
    fire({ screen: 'confirm-encrypt', instance: 11, button: 'deny' });
    expect(await n).toBe('denied');
    expect(shows).toEqual([11, 12]);
    fire({ screen: 'confirm-encrypt', instance: 11, button: 'approve' });
    fire({ screen: 'confirm-decrypt', instance: 12, button: 'approve' });
    fire({ screen: 'confirm-encrypt', instance: 12, button: 'more' });
    await tick();
    expect(got).toEqual([]);
    fire({ screen: 'confirm-encrypt', instance: 12, button: 'approve' });
    expect(await n1).toBe('approved');
  });

  it('approval of request N never applies to N+1 in second-tap mode', async () => {
    const s = setup(10_000, 2, 'second-tap');
    const n = s.ask(encryptReq('N', 'n'));
    const n1 = s.ask(encryptReq('N+1', 'n1'));
    s.tap('approve');
    s.clock.advance(10_000);
    expect(await n).toBe('timeout');
    s.tap('approve');
    await tick();
    expect(s.decisions).toEqual(['timeout']);
    s.tap('approve');
    expect(await n1).toBe('approved');
  });

  it('zeroes its copy of the plaintext once decided, and leaves the caller’s alone', async () => {
    const s = setup();
    const req = encryptReq('secret words');
    const p = s.ask(req);
    const state = s.ui.state;
    const shown = state?.id === 'confirm-encrypt' ? state.message : null;
    expect(shown).not.toBeNull();
    expect(shown).not.toBe(req.plaintext);
    expect(new TextDecoder().decode(shown!)).toBe('secret words');
    s.tap('deny');
    await p;
    expect([...shown!].every((b) => b === 0)).toBe(true);
    expect(new TextDecoder().decode(req.plaintext)).toBe('secret words');
  });

  it('an aborted signal gives timeout, on screen or in the queue; an insecure request says INSECURE', async () => {
    const s = setup();
    const ac1 = new AbortController();
    const ac2 = new AbortController();
    const first = s.ask(encryptReq('one', 'one', true), ac1.signal);
    expect(s.text('band.insecure')).toBe('INSECURE');
    const second = s.ask(encryptReq('two', 'two'), ac2.signal);
    ac2.abort();
    expect(await second).toBe('timeout');
    expect(s.service.waiting).toBe(0);
    ac1.abort();
    expect(await first).toBe('timeout');
    expect(await s.ask(encryptReq('x'), AbortSignal.abort())).toBe('timeout');
  });

  it('confirm-decrypt requests use the same service', async () => {
    const s = setup();
    const p = s.ask({ kind: 'decrypt', contact: 'bob', length: 99, insecure: false });
    expect(s.ui.state?.id).toBe('confirm-decrypt');
    expect(s.text('info.length')).toBe('A message of 99 bytes arrived and was authenticated.');
    s.hold('approve', 1200);
    expect(await p).toBe('approved');
  });

  it('close resolves everything open with timeout', async () => {
    const s = setup();
    const a = s.ask();
    const b = s.ask();
    s.service.close();
    expect(await a).toBe('timeout');
    expect(await b).toBe('timeout');
  });

  it('private receive: the message is shown in the same queue, Done ends it, the copy is zeroed', async () => {
    const s = setup(60_000, 1);
    const plaintext = new TextEncoder().encode('only for your eyes');
    const req = s.ask();
    const view = s.service.showReceived({ kind: 'received', contact: 'bob', plaintext, receivedAt: 0, insecure: true });
    expect(
      await s.service.showReceived({ kind: 'received', contact: 'x', plaintext, receivedAt: 0, insecure: false }),
    ).toBe('busy');
    s.tap('deny');
    expect(await req).toBe('denied');
    expect(s.ui.state?.id).toBe('received-message');
    expect(s.text('message.0')).toBe('only for your eyes');
    expect(s.text('band.insecure')).toBe('INSECURE');
    const state = s.ui.state;
    const copy = state?.id === 'received-message' ? state.message : null;
    s.tap('done');
    expect(await view).toBe('done');
    expect([...copy!].every((b) => b === 0)).toBe(true);
    expect(new TextDecoder().decode(plaintext)).toBe('only for your eyes');
    expect(s.ui.state?.id).toBe('home');
  });

  it('private receive: the timeout clears the screen', async () => {
    const s = setup(20_000, 1);
    const view = s.service.showReceived({
      kind: 'received',
      contact: 'bob',
      plaintext: new TextEncoder().encode('hi'),
      receivedAt: 0,
      insecure: false,
    });
    s.clock.advance(20_000);
    expect(await view).toBe('timeout');
    expect(s.ui.state?.id).toBe('home');
  });
});
