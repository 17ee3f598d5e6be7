import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../display/clock.js';
import { TOUCH_800x480 } from '../../display/layout.js';
import type { Frame, Sink } from '../../display/sink.js';
import { DeviceUi } from '../../display/ui.js';
import { simUi } from './helpers.js';
import { CHROME } from './states.js';

const decrypt = (deadline: number) =>
  ({ id: 'confirm-decrypt', contact: 'bob', length: 12, deadline, queued: 0 }) as const;

describe('device UI', () => {
  it('renders to the sink on every change, and redraws the countdown each second', async () => {
    const s = simUi();
    s.ui.show(decrypt(s.clock.now() + 5000));
    await s.ui.flush();
    expect(s.sink.frames).toBe(1);
    expect(s.text('info.countdown')).toBe('Denied in 5 s');
    s.clock.advance(1000);
    await s.ui.flush();
    expect(s.text('info.countdown')).toBe('Denied in 4 s');
    s.clock.advance(10_000);
    await s.ui.flush();
    expect(s.text('info.countdown')).toBe('Denied in 0 s');
    const frames = s.sink.frames;
    s.clock.advance(10_000);
    expect(s.sink.frames).toBe(frames);
    expect(s.ui.state?.chrome.insecure).toBe(false);
    s.ui.show(decrypt(s.clock.now() + 5000), { insecure: true });
    expect(s.text('band.insecure')).toBe('INSECURE');
  });

  it('a tap on a plain button acts on release, only when released on it', () => {
    const s = simUi();
    const instance = s.ui.show(decrypt(s.clock.now() + 60_000));
    s.tap('deny');
    expect(s.actions).toEqual([{ screen: 'confirm-decrypt', instance, button: 'deny' }]);
    const [x, y] = s.centre('deny');
    s.input.press(x, y);
    s.input.move(x, 50);
    s.input.release(x, 50);
    expect(s.actions).toHaveLength(1);
  });

  it('hold mode: only a hold of holdMs approves; a tap, a short hold or a brush never does', () => {
    const s = simUi();
    s.ui.show(decrypt(s.clock.now() + 60_000));
    s.tap('approve');
    s.clock.advance(5000);
    s.hold('approve', 1000);
    s.clock.advance(5000);
    // A brush: lands on Approve and slides away.
    const [x, y] = s.centre('approve');
    s.input.press(x - 100, y);
    s.input.move(x, y);
    s.input.move(x + 500, y);
    s.clock.advance(5000);
    s.input.release(x + 500, y);
    expect(s.actions).toEqual([]);
    // The progress bar shows while holding, and goes away when released early.
    s.input.press(x, y);
    s.clock.advance(600);
    expect(s.ui.state?.ui.hold).toBe(0.5);
    s.input.release(x, y);
    expect(s.ui.state?.ui.hold).toBe(0);
    s.hold('approve', 1200);
    expect(s.actions.map((a) => a.button)).toEqual(['approve']);
  });

  it('second-tap mode: the first tap arms, the second approves; a tap elsewhere or the timeout disarms', () => {
    const s = simUi({ gesture: 'second-tap' });
    s.ui.show(decrypt(s.clock.now() + 60_000));
    s.tap('approve');
    expect(s.actions).toEqual([]);
    expect(s.ui.debugLayout()?.buttons.find((b) => b.id === 'approve')?.label).toBe('Tap again to confirm');
    s.input.tap(400, 200); // empty space
    s.tap('approve');
    expect(s.actions).toEqual([]);
    s.clock.advance(3000);
    s.tap('approve');
    expect(s.actions).toEqual([]);
    s.clock.advance(2999);
    s.tap('approve');
    expect(s.actions.map((a) => a.button)).toEqual(['approve']);
  });

  it('a hold begun on one screen never completes on the next, even on the same spot', () => {
    const s = simUi();
    s.ui.show(decrypt(s.clock.now() + 60_000));
    const [x, y] = s.centre('approve');
    s.input.press(x, y);
    s.clock.advance(1100);
    const second = s.ui.show(decrypt(s.clock.now() + 60_000));
    s.clock.advance(5000);
    s.input.release(x, y);
    expect(s.actions).toEqual([]);
    s.hold('approve', 1200);
    expect(s.actions).toEqual([{ screen: 'confirm-decrypt', instance: second, button: 'approve' }]);
  });

  it('second tap armed on one screen does not carry over to the next', () => {
    const s = simUi({ gesture: 'second-tap' });
    s.ui.show(decrypt(s.clock.now() + 60_000));
    s.tap('approve');
    s.ui.show(decrypt(s.clock.now() + 60_000));
    s.tap('approve');
    expect(s.actions).toEqual([]);
  });

  it('More pages through a long message and wraps; Approve is enabled after the last page', () => {
    const s = simUi();
    const msg = new TextEncoder().encode('line of text that repeats. '.repeat(60));
    s.ui.show({
      id: 'confirm-encrypt',
      contact: 'alice',
      message: msg,
      cost: msg.length + 32,
      remainingAfter: 5000,
      messagesLeftAfter: 20,
      fingerprint: 'aa55',
      deadline: s.clock.now() + 60_000,
      queued: 0,
    });
    const pages = s.ui.debugLayout()?.pages ?? 0;
    expect(pages).toBeGreaterThan(1);
    s.hold('approve', 2000);
    expect(s.actions).toEqual([]);
    for (let i = 1; i < pages; i++) s.tap('more');
    expect(s.text('info.length')).toContain(`page ${pages}/${pages}`);
    s.tap('more');
    expect(s.ui.state?.ui.page).toBe(0);
    s.hold('approve', 1200);
    expect(s.actions.map((a) => a.button)).toEqual(['approve']);
  });

  it('writes frames one at a time and skips to the newest when the sink is slow', async () => {
    const written: number[] = [];
    let release: () => void = () => {};
    const slow: Sink = {
      width: 800,
      height: 480,
      write: (f: Frame) =>
        new Promise<void>((r) => {
          written.push(f.pixels.length);
          release = r;
        }),
      close: async () => {},
    };
    const clock = new ManualClock(0);
    const errors: unknown[] = [];
    const ui = new DeviceUi({
      layout: TOUCH_800x480,
      sink: slow,
      clock,
      chrome: CHROME,
      gesture: 'hold',
      holdMs: 1200,
      secondTapMs: 3000,
      onSinkError: (e) => errors.push(e),
    });
    for (let i = 0; i < 5; i++) ui.show(decrypt(60_000 + i));
    expect(written).toHaveLength(1);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(written).toHaveLength(2);
    release();
    await ui.flush();
    expect(written).toHaveLength(2);
    expect(errors).toEqual([]);
    await ui.close();
  });
});
