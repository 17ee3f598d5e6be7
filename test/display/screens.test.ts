import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, describe, expect, it } from 'vitest';
import { LAYOUTS } from '../../display/layout.js';
import { encodePng } from '../../display/png.js';
import type { Rendered, ScreenId } from '../../display/screen-types.js';
import { render } from '../../display/screens/index.js';
import { FIXTURES, LONG_CONTACT, stateOf } from './states.js';

const FIXTURE_FILE = fileURLToPath(new URL('./fixtures/screens.json', import.meta.url));
const DIFF_DIR = fileURLToPath(new URL('./diff/', import.meta.url));
const REF_DIR = fileURLToPath(new URL('./fixtures/png/', import.meta.url));
const RECORD = process.env.ONEPAD_UI === 'record';

/**
 * For review of a difference: the actual PNG, the recorded one (when there is one), and a diff image with the
 * differing pixels in red over a dimmed copy of the recorded screen.
 */
async function writeDiff(key: string, r: Rendered, refPng: string, want: string | undefined, got: string) {
  mkdirSync(DIFF_DIR, { recursive: true });
  const base = `${DIFF_DIR}${key.replaceAll('/', '__')}`;
  writeFileSync(`${base}.actual.png`, encodePng(r.pixels, r.width, r.height));
  writeFileSync(`${base}.txt`, `expected ${want ?? '(none: run with ONEPAD_UI=record)'}\nactual   ${got}\n`);
  if (!existsSync(refPng)) return;
  copyFileSync(refPng, `${base}.expected.png`);
  const img = await loadImage(readFileSync(refPng));
  const ctx = createCanvas(r.width, r.height).getContext('2d');
  ctx.drawImage(img, 0, 0);
  const ref = ctx.getImageData(0, 0, r.width, r.height).data;
  const diff = new Uint8ClampedArray(ref.length);
  for (let i = 0; i < ref.length; i += 4) {
    const same = ref[i] === r.pixels[i] && ref[i + 1] === r.pixels[i + 1] && ref[i + 2] === r.pixels[i + 2];
    diff[i] = same ? ref[i]! >> 2 : 255;
    diff[i + 1] = same ? ref[i + 1]! >> 2 : 0;
    diff[i + 2] = same ? ref[i + 2]! >> 2 : 0;
    diff[i + 3] = 255;
  }
  writeFileSync(`${base}.diff.png`, encodePng(diff, r.width, r.height));
}

function load(): Record<string, { sha256: string; png?: string }> {
  try {
    return JSON.parse(readFileSync(FIXTURE_FILE, 'utf8'));
  } catch {
    return {};
  }
}

const expected = load();
const recorded: Record<string, { sha256: string }> = {};

function hash(r: Rendered): string {
  return bytesToHex(sha256(new Uint8Array(r.pixels.buffer, r.pixels.byteOffset, r.pixels.byteLength)));
}

function text(r: Rendered, id: string): string {
  const t = r.texts.find((x) => x.id === id);
  if (!t) throw new Error(`no text ${id} on ${r.screen}; have ${r.texts.map((x) => x.id).join(', ')}`);
  return t.text;
}

function allText(r: Rendered): string {
  return r.texts.map((t) => t.text).join('\n');
}

describe('screens: pixel hashes', () => {
  afterAll(() => {
    if (RECORD) writeFileSync(FIXTURE_FILE, `${JSON.stringify(recorded, null, 2)}\n`);
  });

  for (const layout of Object.values(LAYOUTS)) {
    for (const f of FIXTURES) {
      const key = `${layout.id}/${f.name}`;
      it(key, async () => {
        const r = render(stateOf(f), layout);
        expect(r.width * r.height * 4).toBe(r.pixels.length);
        const h = hash(r);
        // Rendering is deterministic: a second render gives the same pixels.
        expect(hash(render(stateOf(f), layout))).toBe(h);
        const refPng = `${REF_DIR}${key.replaceAll('/', '__')}.png`;
        if (RECORD) {
          recorded[key] = { sha256: h };
          mkdirSync(REF_DIR, { recursive: true });
          writeFileSync(refPng, encodePng(r.pixels, r.width, r.height));
          return;
        }
        const want = expected[key]?.sha256;
        if (want !== h) await writeDiff(key, r, refPng, want, h);
        expect(h, `${key}: differs from test/display/fixtures/screens.json (PNG in test/display/diff/)`).toBe(want);
      });
    }
  }
});

describe('screens: text through the debug layout', () => {
  const touch = LAYOUTS['touch-800x480'];
  const keys = LAYOUTS['keys-240x240'];
  const byName = (name: string) => {
    const f = FIXTURES.find((x) => x.name === name);
    if (!f) throw new Error(name);
    return f;
  };

  it('every screen id has a fixture, and every screen has the trusted band with name and word', () => {
    const ids = new Set<ScreenId>(FIXTURES.map((f) => f.content.id));
    expect([...ids].sort()).toEqual(
      [
        'alarm',
        'confirm-decrypt',
        'confirm-encrypt',
        'home',
        'keyboard',
        'pairing-compare',
        'pairing-progress',
        'pairing-start',
        'received-message',
        'result',
        'session-live',
        'session-request',
        'setup',
      ].sort(),
    );
    for (const layout of [touch, keys]) {
      for (const f of FIXTURES) {
        const r = render(stateOf(f), layout);
        expect(text(r, 'band.name')).toBe('onepad-kitchen');
        if (f.chrome?.ownerWord !== '') expect(text(r, 'band.word')).toBe('“heron”');
      }
    }
  });

  it('INSECURE is on every screen of an insecure device, and on none of a secure one', () => {
    for (const layout of [touch, keys]) {
      for (const f of FIXTURES) {
        const insecure = render(stateOf({ ...f, chrome: { insecure: true } }), layout);
        expect(text(insecure, 'band.insecure')).toBe('INSECURE');
        const secure = render(stateOf({ ...f, chrome: { insecure: false } }), layout);
        expect(secure.texts.some((t) => t.id === 'band.insecure')).toBe(false);
      }
    }
  });

  it('confirm-encrypt shows recipient, message, length, cost, pad left, messages left, fingerprint, countdown', () => {
    const r = render(stateOf(byName('confirm-encrypt.short')), touch);
    expect(r.screen).toBe('confirm-encrypt');
    expect(text(r, 'title')).toBe('Encrypt for alice?');
    expect(text(r, 'message.0')).toBe('Meet at the north gate at 17:30.');
    expect(text(r, 'info.length')).toBe('32 bytes · costs 64 bytes of pad');
    expect(text(r, 'info.left')).toBe('Pad left after: 1,047,900 bytes (about 5,457 messages)');
    expect(text(r, 'info.fingerprint')).toBe('Fingerprint: 3fa2 91bc 0e7d 55aa');
    expect(text(r, 'info.countdown')).toBe('Denied in 45 s');
    expect(r.buttons.map((b) => [b.id, b.label, b.enabled, b.guarded])).toEqual([
      ['deny', 'Deny', true, false],
      ['approve', 'Hold to approve', true, true],
    ]);
    const k = render(stateOf(byName('confirm-encrypt.short')), keys);
    expect(text(k, 'title')).toBe('To alice?');
    expect(k.buttons.map((b) => [b.id, b.key])).toEqual([
      ['deny', 'key2'],
      ['approve', 'key3'],
    ]);
  });

  it('the contact name is shown whole, wrapped and never cut, on both layouts and both confirm screens', () => {
    for (const layout of [touch, keys]) {
      for (const name of ['confirm-encrypt.long-contact', 'confirm-decrypt.long-contact']) {
        const r = render(stateOf(byName(name)), layout);
        const title = r.texts.filter((t) => t.id === 'title' || t.id.startsWith('title.'));
        expect(title.length, `${layout.id} ${name}`).toBeGreaterThan(1);
        const joined = title.map((t) => t.text).join(' ');
        expect(joined).toContain(LONG_CONTACT.split(' ').slice(-2).join(' '));
        expect(joined.replace(/\s+/g, '')).toContain(LONG_CONTACT.replace(/\s+/g, ''));
        for (const t of r.texts) expect(t.text.includes('…'), `${t.id}: ${t.text}`).toBe(false);
        for (const t of title) expect(t.box.x + t.box.w).toBeLessThanOrEqual(layout.width);
      }
    }
  });

  it('a long message is paged with More, and Approve waits until every page was seen', () => {
    for (const layout of [touch, keys]) {
      const p1 = render(stateOf(byName('confirm-encrypt.long.page1')), layout);
      expect(p1.pages).toBeGreaterThan(1);
      expect(p1.buttons.find((b) => b.id === 'more')?.enabled).toBe(true);
      expect(p1.buttons.find((b) => b.id === 'approve')?.enabled).toBe(false);
      const last = render(
        stateOf({ ...byName('confirm-encrypt.long.page1'), ui: { page: p1.pages - 1, seenPage: p1.pages - 1 } }),
        layout,
      );
      expect(last.buttons.find((b) => b.id === 'approve')?.enabled).toBe(true);
      // The pages together hold the whole message, in order.
      const words: string[] = [];
      for (let page = 0; page < p1.pages; page++) {
        const r = render(stateOf({ ...byName('confirm-encrypt.long.page1'), ui: { page, seenPage: page } }), layout);
        words.push(...r.texts.filter((t) => t.id.startsWith('message.')).map((t) => t.text));
      }
      // Newlines are drawn as ↵ markers, a space at the end as ␣; read them as white space here.
      const shown = words.join(' ').replace(/[↵␣]/g, ' ').replace(/\s+/g, ' ').trim();
      const msg = byName('confirm-encrypt.long.page1').content as { message: Uint8Array };
      expect(shown).toBe(new TextDecoder().decode(msg.message).replace(/\s+/g, ' ').trim());
    }
    expect(text(render(stateOf(byName('confirm-encrypt.long.page1')), touch), 'info.countdown')).toBe(
      'Denied in 45 s · 2 more waiting',
    );
  });

  it('bidi overrides and control characters are shown as escapes with a warning, invalid UTF-8 as hex', () => {
    const r = render(stateOf(byName('confirm-encrypt.bidi')), touch);
    expect(text(r, 'message.0')).toBe('pay ⟨U+202E⟩gnp.exe⟨U+202C⟩ now');
    expect(text(r, 'info.warning.0')).toBe('⚠ 2 shown as ⟨codes⟩');
    expect(text(r, 'info.countdown')).toBe('Denied in 7 s');
    const b = render(stateOf(byName('confirm-encrypt.hidden-and-binary')), touch);
    expect(text(b, 'message.0')).toBe('ff fe 00 41 80');
    expect(text(b, 'info.length')).toContain('not text: shown as hex');
  });

  it('a message buffer changed in place (zeroed after the decision) is laid out again, never from memory', () => {
    const message = new TextEncoder().encode('secret plan');
    const f = { ...byName('confirm-encrypt.short'), content: { ...byName('confirm-encrypt.short').content, message } };
    expect(text(render(stateOf(f), touch), 'message.0')).toBe('secret plan');
    message.fill(0);
    const zeroed = render(stateOf(f), touch).texts.filter((t) => t.id.startsWith('message.'));
    expect(zeroed.map((t) => t.text.replace('↩', '')).join('')).toBe('⟨U+0000⟩'.repeat(11));
  });

  it('guarded buttons say how to use them', () => {
    expect(render(stateOf(byName('confirm-encrypt.second-tap-armed')), touch).buttons.at(-1)?.label).toBe(
      'Tap again to confirm',
    );
    const plain = { ...byName('confirm-encrypt.short'), ui: { gesture: 'second-tap' as const } };
    expect(render(stateOf(plain), touch).buttons.at(-1)?.label).toBe('Approve');
  });

  it('the other screens say what they should', () => {
    const d = render(stateOf(byName('confirm-decrypt')), touch);
    expect(text(d, 'title')).toBe('Decrypt a message from bob?');
    expect(text(d, 'info.countdown')).toBe('Denied in 60 s · 1 more waiting');
    const m = render(stateOf(byName('received-message')), touch);
    expect(text(m, 'message.0')).toBe('The keys are under the mat.');
    expect(text(m, 'info.private')).toContain('not sent to the laptop');
    expect(m.texts.some((t) => t.id.startsWith('info.warning'))).toBe(false);
    const me = render(stateOf(byName('received-message.escapes')), touch);
    expect(text(me, 'message.0')).toBe('Pay ⟨U+1F44D⟩ to pаypal.com PIN ו 1 2 3 4 ו');
    const warning = me.texts.filter((t) => t.id.startsWith('info.warning.')).map((t) => t.text);
    expect(warning.join(' · ')).toBe(
      '⚠ 1 shown as ⟨codes⟩ · 1 letter of another script · right-to-left letters shown left to right · Cyrillic in green · Hebrew in violet',
    );
    const h = render(stateOf(byName('home')), touch);
    expect(text(h, 'hrng.health')).toBe('HRNG ok');
    expect(text(h, 'hrng.pool')).toBe('pool 3.24 MiB (20%)');
    expect(text(h, 'contact.0.name')).toBe('alice');
    expect(text(h, 'contact.0.left')).toBe('1023.3 KiB left · about 5,457 messages');
    expect(text(h, 'contact.2.name')).toBe('test-peer (insecure)');
    expect(text(h, 'warning.0')).toBe('17:29 MAC failure on a package for bob');
    const he = render(stateOf(byName('home.empty-hrng-failed')), keys);
    expect(text(he, 'hrng.health')).toBe('HRNG FAILED');
    expect(allText(he)).not.toContain('“');
    const a = render(stateOf(byName('alarm.forged')), touch);
    expect(text(a, 'title')).toBe('FORGED PACKAGE');
    expect(text(a, 'detail.1')).toBe('offset 40960, length 212');
    expect(text(render(stateOf(byName('alarm.hrng-failure')), keys), 'title')).toBe('HRNG FAILED');
    expect(text(render(stateOf(byName('alarm.replay')), touch), 'title')).toBe('REPLAYED PACKAGE');
    expect(text(render(stateOf(byName('alarm.pad-low')), touch), 'title')).toBe('PAD NEARLY USED UP');
    const pp = render(stateOf(byName('pairing-progress')), touch);
    expect(text(pp, 'progress.bytes')).toBe('12.00 MiB of 64.00 MiB (18%)');
    expect(text(pp, 'progress.rate')).toBe('1.20 MiB/s');
    expect(text(pp, 'progress.left')).toBe('about 43 s left');
    const pc = render(stateOf(byName('pairing-compare')), touch);
    expect(text(pc, 'fingerprint.0')).toBe('9f2c 71e0 4ab3 d856 0c1e 77a2');
    expect(text(pc, 'fingerprint.1')).toBe('b94f 03d1');
    expect(pc.buttons.find((b) => b.id === 'match')?.guarded).toBe(true);
  });

  it('buttons lie inside the screen and do not overlap', () => {
    for (const layout of [touch, keys]) {
      for (const f of FIXTURES) {
        const r = render(stateOf(f), layout);
        for (const b of r.buttons) {
          expect(b.box.x >= 0 && b.box.y >= layout.band && b.box.x + b.box.w <= layout.width).toBe(true);
          expect(b.box.y + b.box.h <= layout.height).toBe(true);
          for (const o of r.buttons) {
            if (o === b) continue;
            const overlap =
              b.box.x < o.box.x + o.box.w &&
              o.box.x < b.box.x + b.box.w &&
              b.box.y < o.box.y + o.box.h &&
              o.box.y < b.box.y + b.box.h;
            expect(overlap, `${f.name}: ${b.id} overlaps ${o.id}`).toBe(false);
          }
        }
      }
    }
  });
});
