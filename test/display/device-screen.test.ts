/**
 * The composed device screen with the real engine: a package waits for the user on the simulated screen, and only
 * a hold on Approve lets it through; Deny refuses it; pairing asks on the compare screen; home lists the contacts.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataDirLayout } from '../../device/data-dir.js';
import { DeviceEngine } from '../../device/engine.js';
import { sideAreas } from '../../device/layout.js';
import { padFilePath } from '../../device/pad-file.js';
import { ManualClock } from '../../display/clock.js';
import { type DeviceScreen, openDeviceScreen } from '../../display/device-screen.js';
import { Filler } from '../../hrng/filler.js';
import { EntropyPool } from '../../hrng/pool.js';
import { makePair, type Pair, text, utf8 } from '../helpers/engine-fixture.js';
import { ScriptedSource } from '../hrng/helpers.js';

let pair: Pair | undefined;
let screen: DeviceScreen | undefined;
afterEach(async () => {
  await screen?.close();
  pair?.cleanup();
  screen = undefined;
  pair = undefined;
});

async function setup() {
  pair = makePair(8192);
  const config = pair.configA();
  const clock = new ManualClock(1_000_000);
  screen = await openDeviceScreen(config, 'simulated', clock);
  const engine = DeviceEngine.open({ config, confirmer: screen.confirmer, privateDisplay: screen.privateDisplay });
  const s = screen;
  screen.attachEngine(engine);
  const layout = () => s.ui.debugLayout()!;
  const texts = () =>
    layout()
      .texts.map((t) => t.text)
      .join('\n');
  const centre = (id: string): [number, number] => {
    const b = layout().buttons.find((x) => x.id === id);
    if (!b) throw new Error(`no button ${id} on ${layout().screen}`);
    return [Math.round(b.box.x + b.box.w / 2), Math.round(b.box.y + b.box.h / 2)];
  };
  const input = s.sim!.input;
  const hold = (id: string, ms: number) => {
    const [x, y] = centre(id);
    input.press(x, y);
    clock.advance(ms);
    input.release(x, y);
  };
  const tap = (id: string) => input.tap(...centre(id));
  const tick = () => new Promise((r) => setImmediate(r));
  return { engine, config, clock, layout, texts, hold, tap, tick };
}

describe('the device screen, composed with the engine', () => {
  it('home lists the contact and its pad; an encryption waits for a hold on Approve', async () => {
    const t = await setup();
    expect(t.layout().screen).toBe('home');
    expect(t.texts()).toContain('bob');
    let settled = false;
    const p = t.engine.package('bob', utf8('meet at nine')).finally(() => {
      settled = true;
    });
    await t.tick();
    expect(t.layout().screen).toBe('confirm-encrypt');
    expect(t.texts()).toContain('bob');
    expect(t.texts()).toContain('meet at nine');
    t.tap('approve'); // a tap is not the deliberate gesture
    t.hold('approve', 600); // nor is a short hold
    await t.tick();
    expect(settled).toBe(false);
    t.hold('approve', 1300);
    const r = await p;
    expect(r.cost).toBe(12 + 32);
    expect(t.layout().screen).toBe('result');
    t.clock.advance(2500);
    expect(t.layout().screen).toBe('home');
    const b = pair!.openB();
    expect(text((await b.unpackage(r.package)).plaintext)).toBe('meet at nine');
  });

  it('Deny refuses with DENIED and uses no pad; the countdown times out with CONFIRM_TIMEOUT', async () => {
    const t = await setup();
    const p = t.engine.package('bob', utf8('no'));
    await t.tick();
    t.tap('deny');
    await expect(p).rejects.toMatchObject({ code: 'DENIED' });
    const q = t.engine.package('bob', utf8('late'));
    await t.tick();
    t.clock.advance(60_001);
    await expect(q).rejects.toMatchObject({ code: 'CONFIRM_TIMEOUT' });
    // v2: no key slot used, the stream cursor still at the start of A's stream area.
    const pad = t.engine.pads()[0]!;
    expect(pad).toMatchObject({ sendIndex: 0, cursor: 32 * pad.keySlotsA });
  });

  it('pairing asks on the compare screen: Different denies, a hold on Match approves', async () => {
    const t = await setup();
    const req = {
      peer: 'carol',
      side: 'A' as const,
      size: 1 << 20,
      fingerprint: '1234 5678 9012 3456 7890',
      insecure: true,
    };
    const ac = new AbortController();
    const first = screen!.pairApprover.approvePairing(req, ac.signal);
    await t.tick();
    expect(t.layout().screen).toBe('pairing-compare');
    expect(t.texts()).toContain('1234 5678 9012 3456 7890');
    t.tap('mismatch');
    expect(await first).toBe('denied');
    const second = screen!.pairApprover.approvePairing(req, ac.signal);
    await t.tick();
    t.tap('match');
    t.hold('match', 1300);
    expect(await second).toBe('approved');
    expect(t.layout().screen).toBe('home');
  });

  it('a forged package raises the forged alarm on the device, naming the contact; OK goes home', async () => {
    const t = await setup();
    const b = pair!.openB();
    const m = await b.package('alice', utf8('genuine'));
    const forged = m.package.slice();
    forged[34] = (forged[34] as number) ^ 1; // first ciphertext byte (v2 header is 34 bytes)
    await expect(t.engine.unpackage(forged)).rejects.toMatchObject({ code: 'MAC_INVALID' });
    t.clock.advance(1000);
    expect(t.layout().screen).toBe('alarm');
    expect(t.texts()).toContain('contact bob');
    t.tap('dismiss');
    expect(t.layout().screen).toBe('home');
    expect(t.texts()).toContain('forged or damaged package refused');
    // An alarm never covers a confirmation.
    const p = t.engine.package('bob', utf8('x'));
    await t.tick();
    await expect(t.engine.unpackage(forged)).rejects.toMatchObject({ code: 'MAC_INVALID' });
    t.clock.advance(1000);
    expect(t.layout().screen).toBe('confirm-encrypt');
    t.tap('deny');
    await expect(p).rejects.toMatchObject({ code: 'DENIED' });
  });

  it('burned pad bytes refused (PAD_BURNED) raise their own alarm on the device, naming the contact', async () => {
    const t = await setup();
    const b = pair!.openB();
    const m = await b.package('alice', utf8('genuine, but alice reads burned bytes for it'));
    // alice's pad file holds zeros where bob's key slot 0 is (her ledger fell behind, as a restored backup does).
    const key = sideAreas(t.engine.pads()[0]!, 'B').keys;
    const fd = openSync(padFilePath(join(pair!.dirA, 'pads'), pair!.padId), 'r+');
    writeSync(fd, new Uint8Array(32), 0, 32, key.start);
    closeSync(fd);
    await expect(t.engine.unpackage(m.package)).rejects.toMatchObject({ code: 'PAD_BURNED' });
    t.clock.advance(1000);
    expect(t.layout().screen).toBe('alarm');
    expect(t.texts()).toContain('PAD ALREADY USED');
    expect(t.texts()).toContain('contact bob');
    expect(t.texts()).toContain('receiving, message 0');
    t.tap('dismiss');
    expect(t.layout().screen).toBe('home');
    expect(t.texts()).toContain('burned pad bytes refused');
  });

  it('a forged-package alarm raised while a send waits is shown once the send is decided, not lost', async () => {
    const t = await setup();
    const b = pair!.openB();
    const m = await b.package('alice', utf8('genuine'));
    const forged = m.package.slice();
    forged[34] = (forged[34] as number) ^ 1; // first ciphertext byte (v2 header is 34 bytes)
    await expect(t.engine.unpackage(forged)).rejects.toMatchObject({ code: 'MAC_INVALID' });
    // A send request follows within the second: the confirmation comes first.
    t.clock.advance(400);
    const p = t.engine.package('bob', utf8('x'));
    await t.tick();
    expect(t.layout().screen).toBe('confirm-encrypt');
    t.clock.advance(600);
    expect(t.layout().screen).toBe('confirm-encrypt');
    t.tap('deny');
    await expect(p).rejects.toMatchObject({ code: 'DENIED' });
    expect(t.layout().screen).toBe('result');
    t.clock.advance(2500);
    expect(t.layout().screen).toBe('alarm');
    expect(t.texts()).toContain('FORGED PACKAGE');
    expect(t.texts()).toContain('contact bob');
    t.tap('dismiss');
    expect(t.layout().screen).toBe('home');
  });

  it('home names the source and test of a health failure the filler latched in the ledger', async () => {
    const t = await setup();
    expect(t.texts()).toContain('HRNG ok');
    // A real fill on this device's ledger and pool file: a stuck source fails the RCT and latches.
    const pool = EntropyPool.open({
      db: t.engine.ledger.db,
      path: dataDirLayout(t.config.dataDir).pool,
      maxBytes: 1 << 20,
    });
    const stuck = new ScriptedSource('truerng', (_o, n) => new Uint8Array(n).fill(7), { claimedH: 4 });
    const r = await new Filler({ sources: [stuck], pool, statusPath: '' }).run();
    expect(pool.latch()).toBe('HRNG_HEALTH_FAILED:truerng:rct');
    pool.close();
    expect(r.state).toBe('failed');
    t.clock.advance(1000); // the screen's watch reads the ledger once a second
    expect(t.layout().screen).toBe('home');
    expect(t.texts()).toContain('HRNG FAILED');
    expect(t.texts()).toContain('truerng: rct');
  });

  it('home shows the new pad figures after a send', async () => {
    const t = await setup();
    const left = () => t.layout().texts.find((x) => x.id === 'contact.0.left')?.text;
    const before = left();
    expect(before).toContain('4.0 KiB left');
    const p = t.engine.package('bob', utf8('x'.repeat(200)));
    await t.tick();
    t.hold('approve', 1300);
    await p;
    t.tap('dismiss');
    expect(t.layout().screen).toBe('home');
    expect(left()).not.toBe(before);
    expect(left()).toContain('3.8 KiB left');
    // And when home was already up before the engine's figures changed, the next second's tick redraws it.
    const q = t.engine.package('bob', utf8('y'.repeat(200)));
    await t.tick();
    t.hold('approve', 1300);
    await q;
    t.clock.advance(2500);
    t.clock.advance(1000);
    expect(left()).toContain('3.5 KiB left');
  });

  it('while pairing waits for the peer, the progress screen says so instead of 0 B of 0 B', async () => {
    const t = await setup();
    let release: () => void = () => undefined;
    screen!.onPairRequest(
      (_role, signal) =>
        new Promise<void>((resolve) => {
          release = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        }),
    );
    t.tap('pair');
    expect(t.layout().screen).toBe('pairing-start');
    t.tap('start');
    expect(t.layout().screen).toBe('pairing-progress');
    expect(t.texts()).toContain('Waiting for the other device');
    expect(t.texts()).not.toContain('0 B of 0 B');
    expect(t.texts()).not.toContain('0 s left');
    t.tap('cancel');
    release();
    await t.tick();
    expect(t.layout().screen).toBe('home');
  });
});
