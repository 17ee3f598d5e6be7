/**
 * Pairing with naming, end to end: two devices with their own simulated screens (alice on the 800x480 touch
 * layout, bob on the 240x240 keys layout) pair over loopback through the real protocol; each owner compares on
 * their screen, holds Match, and names the other on the device's keyboard (the peer's device name is only the
 * suggestion; a name that looks like an existing contact is refused on screen). The names are what the ledgers
 * keep, and what the confirm screen shows when alice then sends bob a message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { DeviceEngine } from '../../device/engine.js';
import { ManualClock } from '../../display/clock.js';
import { type DeviceScreen, openDeviceScreen } from '../../display/device-screen.js';
import { runPairing } from '../../provisioning/protocol.js';
import { text, utf8 } from '../helpers/engine-fixture.js';
import { clearValue, pressButtonKey, tapKey, typeOnKeys, typeOnTouch } from '../helpers/keyboard-driver.js';
import {
  depsFor,
  makeSide,
  ScriptedApprover,
  SeededSource,
  socketPair,
  tempRoot,
  testPairingConfig,
} from './pairing-fixture.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tick = () => new Promise((r) => setTimeout(r, 5));

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

async function device(root: string, name: 'alice' | 'bob', layout: 'touch-800x480' | 'keys-240x240') {
  const config = parseConfig({
    dataDir: `${root}/${name}`,
    device: { name, ownerWord: `word-${name}`, simulated: true },
    display: { layout, sink: 'sim', input: 'sim' },
  });
  const clock = new ManualClock(1_000_000);
  const screen: DeviceScreen = await openDeviceScreen(config, 'simulated', clock);
  cleanups.push(() => screen.close());
  const input = screen.sim!.input;
  const shows = () => screen.ui.debugLayout()?.screen;
  const texts = () =>
    screen.ui
      .debugLayout()!
      .texts.map((t) => t.text)
      .join('\n');
  return { config, clock, screen, input, shows, texts };
}

describe('pairing with naming on the devices', () => {
  it('each owner names the other on their device; the name is kept and shown whole on the confirm screen', async () => {
    const { root, cleanup } = tempRoot();
    cleanups.push(cleanup);
    const a = await device(root, 'alice', 'touch-800x480');
    const b = await device(root, 'bob', 'keys-240x240');
    const sideA = makeSide(root, 'alice');
    const sideB = makeSide(root, 'bob');
    // Alice already has a contact "Bobby" (an old pad): a new name that looks like it must be refused.
    sideA.ledger.insertPad({
      padId: 'ff'.repeat(16),
      contact: 'Bobby',
      side: 'A',
      size: 4096,
      split: 2048,
      keySlotsA: 16,
      keySlotsB: 16,
      insecure: true,
      createdAt: 1,
    });
    const [sa, sb] = await socketPair();
    const config = testPairingConfig({ approvalTimeoutMs: 120_000, ioTimeoutMs: 30_000 });
    const pa = runPairing(
      depsFor(sideA, 'initiator', 'alice', sa, new SeededSource('a', 1 << 16), a.screen.pairApprover, { config }),
    );
    const pb = runPairing(
      depsFor(sideB, 'responder', 'bob', sb, new SeededSource('b', 1 << 16), b.screen.pairApprover, { config }),
    );

    await until('both compare screens', () => a.shows() === 'pairing-compare' && b.shows() === 'pairing-compare');
    // Alice holds Match on the touchscreen; bob holds KEY3.
    const match = a.screen.ui.debugLayout()!.buttons.find((x) => x.id === 'match')!;
    a.input.press(match.box.x + 5, match.box.y + 5);
    a.clock.advance(1300);
    a.input.release(match.box.x + 5, match.box.y + 5);
    b.input.key('key3', 'down');
    b.clock.advance(1300);
    b.input.key('key3', 'up');

    await until('both keyboards', () => a.shows() === 'keyboard' && b.shows() === 'keyboard');
    // The peer's own name is the suggestion.
    expect(a.texts()).toContain('bob');
    expect(b.texts()).toContain('alice');

    // Alice first tries a look-alike of "Bobby": refused on screen, the keyboard stays.
    clearValue(a.screen.ui, a.input);
    typeOnTouch(a.screen.ui, a.input, 'B0bby');
    tapKey(a.screen.ui, a.input, 'submit');
    expect(a.shows()).toBe('keyboard');
    expect(a.texts()).toContain('looks like Bobby, already a contact');
    clearValue(a.screen.ui, a.input);
    const bobName = 'Bob Builder from the allotment next to the old mill on Tuesdays';
    typeOnTouch(a.screen.ui, a.input, bobName);
    tapKey(a.screen.ui, a.input, 'submit');

    // Bob names alice with the picker.
    clearValue(b.screen.ui, b.input);
    typeOnKeys(b.screen.ui, b.input, 'Al W');
    pressButtonKey(b.screen.ui, b.input, 'submit');

    const [ra, rb] = await Promise.all([pa, pb]);
    expect(ra.contact).toBe(bobName);
    expect(rb.contact).toBe('Al W');
    expect(sideA.ledger.activePad(bobName)?.padId).toBe(ra.padId);
    expect(sideA.ledger.activePad('bob')).toBeUndefined();
    expect(sideB.ledger.activePad('Al W')?.padId).toBe(rb.padId);
    sideA.ledger.close();
    sideA.events.close();
    sideB.ledger.close();
    sideB.events.close();

    // Alice sends to the contact by her name for him; her confirm screen shows that name, whole.
    const engA = DeviceEngine.open({ config: a.config, confirmer: a.screen.confirmer });
    const engB = DeviceEngine.open({ config: b.config, confirmer: b.screen.confirmer });
    cleanups.push(() => {
      engA.close();
      engB.close();
    });
    const sending = engA.package(bobName, utf8('see you at the mill'));
    await until('the confirm screen', () => a.shows() === 'confirm-encrypt');
    const layout = a.screen.ui.debugLayout()!;
    const title = layout.texts
      .filter((t) => t.id === 'title' || t.id.startsWith('title.'))
      .map((t) => t.text)
      .join(' ');
    expect(title).toBe(`Encrypt for ${bobName}?`);
    expect(layout.texts.filter((t) => t.id.startsWith('title')).length).toBeGreaterThan(1);
    const approve = layout.buttons.find((x) => x.id === 'approve')!;
    a.input.press(approve.box.x + 5, approve.box.y + 5);
    a.clock.advance(1300);
    a.input.release(approve.box.x + 5, approve.box.y + 5);
    const pkg = await sending;
    const got = await engB.unpackage(pkg.package);
    expect(got.contact).toBe('Al W');
    expect(text(got.plaintext)).toBe('see you at the mill');
  }, 90_000);

  it('an owner who cancels the naming refuses the pad on both devices', async () => {
    const { root, cleanup } = tempRoot();
    cleanups.push(cleanup);
    const a = await device(root, 'alice', 'touch-800x480');
    const b = await device(root, 'bob', 'keys-240x240');
    const sideA = makeSide(root, 'alice');
    const sideB = makeSide(root, 'bob');
    cleanups.push(() => {
      for (const s of [sideA, sideB]) {
        s.ledger.close();
        s.events.close();
      }
    });
    const [sa, sb] = await socketPair();
    const config = testPairingConfig({ approvalTimeoutMs: 120_000, ioTimeoutMs: 30_000 });
    const pa = runPairing(
      depsFor(sideA, 'initiator', 'alice', sa, new SeededSource('a', 1 << 16), a.screen.pairApprover, { config }),
    );
    const pb = runPairing(
      depsFor(sideB, 'responder', 'bob', sb, new SeededSource('b', 1 << 16), b.screen.pairApprover, { config }),
    );
    const fa = pa.then(
      () => 'paired',
      (e: { code?: string }) => e.code,
    );
    const fb = pb.then(
      () => 'paired',
      (e: { code?: string }) => e.code,
    );
    await until('both compare screens', () => a.shows() === 'pairing-compare' && b.shows() === 'pairing-compare');
    b.input.key('key3', 'down');
    b.clock.advance(1300);
    b.input.key('key3', 'up');
    await until('bob names', () => b.shows() === 'keyboard');
    pressButtonKey(b.screen.ui, b.input, 'cancel');
    expect(await fb).toBe('DENIED');
    expect(await fa).toBe('PAIRING_PEER_DENIED');
    expect(sideA.ledger.pads()).toEqual([]);
    expect(sideB.ledger.pads()).toEqual([]);
  }, 60_000);

  it('a peer device named like an existing contact cannot slip in without naming: the ledger refuses it', async () => {
    const { root, cleanup } = tempRoot();
    cleanups.push(cleanup);
    const sideA = makeSide(root, 'alice');
    const sideB = makeSide(root, 'mallory');
    cleanups.push(() => {
      for (const s of [sideA, sideB]) {
        s.ledger.close();
        s.events.close();
      }
    });
    sideA.ledger.insertPad({
      padId: 'ee'.repeat(16),
      contact: 'Bob',
      side: 'A',
      size: 4096,
      split: 2048,
      keySlotsA: 16,
      keySlotsB: 16,
      insecure: true,
      createdAt: 1,
    });
    const [sa, sb] = await socketPair();
    const config = testPairingConfig({ approvalTimeoutMs: 10_000 });
    // The attacker's device calls itself "B0b" (zero for o); alice's approver does not ask for names.
    const pa = runPairing(
      depsFor(sideA, 'initiator', 'alice', sa, new SeededSource('a', 1 << 16), new ScriptedApprover(), { config }),
    ).then(
      () => 'paired',
      (e: { code?: string }) => e.code,
    );
    const pb = runPairing(
      depsFor(sideB, 'responder', 'B0b', sb, new SeededSource('b', 1 << 16), new ScriptedApprover(), { config }),
    ).then(
      () => 'paired',
      (e: { code?: string }) => e.code,
    );
    expect(await pa).toBe('CONTACT_LOOKALIKE');
    expect(await pb).not.toBe('paired');
    expect(sideA.ledger.pads().map((p) => [p.contact, p.state])).toEqual([['Bob', 'active']]);
    expect(sideB.ledger.pads().filter((p) => p.state === 'active')).toEqual([]);
  }, 60_000);
});
