/**
 * The invariant of the confirm screen, tested in pixels: two different messages (of equal length, everything
 * else on screen equal) never give the same sequence of confirm pages, on either layout, and the attacks of
 * issue 12 fail visibly. Pixels are compared after conversion to RGB565, what both panels actually show, so a
 * difference lost in the panel's colour depth does not count.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAITHFUL_COLORS } from '../../display/faithful-draw.js';
import { KEYS_240x240, LAYOUTS, type Layout, TOUCH_800x480 } from '../../display/layout.js';
import { COLORS } from '../../display/paint.js';
import { rgbaToRgb565 } from '../../display/pixels.js';
import type { Box, Rendered } from '../../display/screen-types.js';
import { render } from '../../display/screens/index.js';
import { CLASSES, equalLengthPair, TWIN_PAIRS, utf8Length } from './adversarial.js';
import { FIXTURES, stateOf } from './states.js';

const enc = (s: string) => new TextEncoder().encode(s);
const base = FIXTURES.find((f) => f.name === 'confirm-encrypt.short')!;

/** The confirm screen for a message, page `page`; cost etc. depend on the length only, as on the device. */
function confirm(message: string, layout: Layout, page = 0): Rendered {
  const bytes = enc(message);
  const content = { ...base.content, message: bytes, cost: bytes.length + 32 } as typeof base.content;
  return render(stateOf({ ...base, content, ui: { page, seenPage: page } }), layout);
}

/** Every page of the confirm screen, as the panel shows it (RGB565). */
function pages(message: string, layout: Layout): Buffer[] {
  const first = confirm(message, layout);
  const out = [first];
  for (let i = 1; i < first.pages; i++) out.push(confirm(message, layout, i));
  return out.map((r) => Buffer.from(rgbaToRgb565(r.pixels, r.width, r.height, false)));
}

function samePages(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && a.every((p, i) => p.equals(b[i]!));
}

function rgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [n >> 16, (n >> 8) & 255, n & 255];
}

/** How many pixels of exactly `color` lie in `box` (the whole screen by default). */
function count(r: Rendered, color: string, box?: Box): number {
  const [cr, cg, cb] = rgb(color);
  const b = box ?? { x: 0, y: 0, w: r.width, h: r.height };
  let n = 0;
  for (let y = b.y; y < b.y + b.h; y++) {
    for (let x = b.x; x < b.x + b.w; x++) {
      const i = (y * r.width + x) * 4;
      if (r.pixels[i] === cr && r.pixels[i + 1] === cg && r.pixels[i + 2] === cb) n++;
    }
  }
  return n;
}

/** The columns where two screens differ within rows [y0, y1). */
function diffColumns(a: Rendered, b: Rendered, y0: number, y1: number): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = -1;
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < a.width; x++) {
      const i = (y * a.width + x) * 4;
      if (a.pixels[i] !== b.pixels[i] || a.pixels[i + 1] !== b.pixels[i + 1] || a.pixels[i + 2] !== b.pixels[i + 2]) {
        min = Math.min(min, x);
        max = Math.max(max, x);
      }
    }
  }
  return { min, max };
}

const messageBox = (r: Rendered) => {
  const lines = r.texts.filter((t) => t.id.startsWith('message.'));
  return lines[0]!.box;
};

describe('faithful confirm screen: distinct messages give distinct page sequences (pixels)', () => {
  for (const layout of Object.values(LAYOUTS)) {
    it(`random equal-length pairs from adversarial classes and every plane, ${layout.id} (property)`, () => {
      fc.assert(
        fc.property(equalLengthPair, ([a, b]) => {
          expect(utf8Length(a)).toBe(utf8Length(b));
          expect(samePages(pages(a, layout), pages(b, layout)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(
            false,
          );
        }),
        { numRuns: layout === TOUCH_800x480 ? 100 : 200 },
      );
    }, 240_000);

    it(`every listed twin pair looks different, ${layout.id}`, () => {
      for (const [a, b] of TWIN_PAIRS) {
        expect(utf8Length(a), JSON.stringify(a)).toBe(utf8Length(b));
        expect(samePages(pages(a, layout), pages(b, layout)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(
          false,
        );
      }
    });
  }
});

describe('faithful confirm screen: each attack of issue 12 fails visibly', () => {
  const touch = TOUCH_800x480;
  const keys = KEYS_240x240;
  const warning = (r: Rendered) =>
    r.texts
      .filter((t) => t.id.startsWith('info.warning'))
      .map((t) => t.text)
      .join(' ');

  it('invisible code points (tags, variation selectors, soft hyphen, CGJ, U+180E, ...) become escapes and warn', () => {
    for (const layout of [touch, keys]) {
      const plain = confirm('ab', layout);
      expect(count(plain, FAITHFUL_COLORS.escapeBg)).toBe(0);
      expect(count(plain, COLORS.warn)).toBe(0);
      for (const ch of [...CLASSES.invisible!, ...CLASSES.bidi!.filter((c) => c < 'א')]) {
        const r = confirm(`a${ch}b`, layout);
        expect(count(r, FAITHFUL_COLORS.escapeBg, messageBox(r)), JSON.stringify(ch)).toBeGreaterThan(20);
        expect(count(r, COLORS.warn), JSON.stringify(ch)).toBeGreaterThan(200);
        expect(warning(r)).toMatch(/^⚠ 1 /);
      }
    }
  });

  it('"hello bob" followed by a sentence in tag characters shows every tag, on as many pages as it takes', () => {
    const hidden = Array.from('approve and pay eve 1000 from the shared account', (c) =>
      String.fromCodePoint(0xe0000 + c.charCodeAt(0)),
    ).join('');
    for (const layout of [touch, keys]) {
      const r = confirm(`hello bob${hidden}`, layout);
      expect(r.pages).toBeGreaterThan(1);
      expect(warning(r)).toContain('48');
      expect(samePages(pages(`hello bob${hidden}`, layout), pages('hello bob', layout))).toBe(false);
    }
  });

  it('characters without a glyph are escapes that differ: 👍 vs 👎, 同意 vs 反对', () => {
    for (const layout of [touch, keys]) {
      for (const [a, b] of [
        ['👍', '👎'],
        ['同意', '反对'],
      ] as const) {
        const ra = confirm(a, layout);
        const rb = confirm(b, layout);
        expect(count(ra, FAITHFUL_COLORS.escapeBg)).toBeGreaterThan(20);
        expect(Buffer.from(ra.pixels).equals(Buffer.from(rb.pixels))).toBe(false);
        expect(ra.texts.find((t) => t.id === 'message.0')?.text).toMatch(/^⟨U\+/);
      }
    }
  });

  it('right-to-left letters do not reorder digits: "PIN ו 1 2 3 4 ו" is drawn in stored order, marked', () => {
    for (const layout of [touch, keys]) {
      const msg = 'PIN ו 1 2 3 4 ו';
      const r = confirm(msg, layout);
      const line = messageBox(r);
      // Change each digit in turn: the changed pixels move right as the digit's stored position grows.
      const xs = ['1', '2', '3', '4'].map((d) => {
        const changed = confirm(msg.replace(d, '9'), layout);
        return diffColumns(r, changed, line.y, line.y + line.h);
      });
      for (let i = 1; i < xs.length; i++) expect(xs[i]!.min, `digit ${i + 1}`).toBeGreaterThan(xs[i - 1]!.max);
      // The Hebrew letters are in their tint and underlined; the warning says what happened.
      expect(count(r, FAITHFUL_COLORS.tint[3], line)).toBeGreaterThan(4);
      expect(warning(r)).toMatch(/right-to-left|RTL/);
    }
  });

  it('a stack of 1,600 bytes of combining marks neither hides in one accent nor paints over the title', () => {
    for (const layout of [touch, keys]) {
      const stack = `Z${'\u0301'.repeat(800)}`;
      expect(utf8Length(stack)).toBe(1601);
      const r = confirm(stack, layout);
      const plain = confirm('Z', layout);
      expect(r.pages).toBeGreaterThan(5);
      // Everything above the message text, left of the key labels (More appears there), is unchanged.
      const top = messageBox(plain).y - 2;
      const right = layout.input === 'touch' ? layout.width : layout.width - layout.controls;
      const above = (x: Rendered) => {
        const rows: Buffer[] = [];
        for (let y = 0; y < top; y++)
          rows.push(Buffer.from(x.pixels.subarray(y * x.width * 4, (y * x.width + right) * 4)));
        return Buffer.concat(rows);
      };
      expect(above(r).equals(above(plain))).toBe(true);
      expect(warning(r)).toContain('800');
    }
  });

  it('look-alike letters of other scripts are visible: mixed words are highlighted, whole words tinted', () => {
    for (const layout of [touch, keys]) {
      const fake = confirm('pаypal.com', layout);
      const real = confirm('paypal.com', layout);
      expect(count(fake, FAITHFUL_COLORS.outsiderBg, messageBox(fake))).toBeGreaterThan(20);
      expect(count(real, FAITHFUL_COLORS.outsiderBg, messageBox(real))).toBe(0);
      expect(warning(fake)).toMatch(/1 (letter of another script|mixed)/);
      const cyr = confirm('рор', layout);
      expect(count(cyr, FAITHFUL_COLORS.tint[2], messageBox(cyr))).toBeGreaterThan(4);
      expect(warning(cyr)).toMatch(/Cyrillic in green|Cyr green/);
    }
  });

  it('NBSP, tab and other white space are escapes, not spaces; runs of spaces are visible', () => {
    for (const layout of [touch, keys]) {
      for (const [a, b] of [
        ['a\u00a0b', 'a  b'],
        ['a\tb', 'a b'],
        ['a\u2009b', 'a   b'],
      ] as const) {
        const ra = confirm(a, layout);
        expect(count(ra, FAITHFUL_COLORS.escapeBg), JSON.stringify(a)).toBeGreaterThan(20);
        expect(Buffer.from(ra.pixels).equals(Buffer.from(confirm(b, layout).pixels))).toBe(false);
      }
      expect(confirm('a  b', layout).texts.find((t) => t.id === 'message.0')?.text).toBe('a␣␣b');
    }
  });
});
