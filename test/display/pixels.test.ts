import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rgb565ToRgba, rgbaToRgb565, rgbaToXrgb8888 } from '../../display/pixels.js';

describe('pixel conversion', () => {
  it('RGB565 of known colours, both byte orders', () => {
    const rgba = Uint8Array.of(255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255);
    expect([...rgbaToRgb565(rgba, 4, 1, false)]).toEqual([0x00, 0xf8, 0xe0, 0x07, 0x1f, 0x00, 0xff, 0xff]);
    expect([...rgbaToRgb565(rgba, 4, 1, true)]).toEqual([0xf8, 0x00, 0x07, 0xe0, 0x00, 0x1f, 0xff, 0xff]);
  });

  it('XRGB8888 is B, G, R, 0xff in memory, with and without row padding', () => {
    const rgba = Uint8Array.of(1, 2, 3, 255, 4, 5, 6, 255);
    expect([...rgbaToXrgb8888(rgba, 2, 1)]).toEqual([3, 2, 1, 255, 6, 5, 4, 255]);
    expect([...rgbaToXrgb8888(rgba, 1, 2, 8)]).toEqual([3, 2, 1, 255, 0, 0, 0, 0, 6, 5, 4, 255, 0, 0, 0, 0]);
  });

  it('RGB565 round trip keeps the top bits of each channel, with any stride (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 6 }),
        fc.boolean(),
        fc.infiniteStream(fc.integer({ min: 0, max: 255 })),
        (w, h, pad, be, bytes) => {
          const rgba = new Uint8Array(w * h * 4);
          const it = bytes[Symbol.iterator]();
          for (let i = 0; i < rgba.length; i++) rgba[i] = (i & 3) === 3 ? 255 : (it.next().value as number);
          const stride = w * 2 + pad;
          const back = rgb565ToRgba(rgbaToRgb565(rgba, w, h, be, stride), w, h, be, stride);
          for (let i = 0; i < rgba.length; i += 4) {
            expect(back[i]! >> 3).toBe(rgba[i]! >> 3);
            expect(back[i + 1]! >> 2).toBe(rgba[i + 1]! >> 2);
            expect(back[i + 2]! >> 3).toBe(rgba[i + 2]! >> 3);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('the word-at-a-time XRGB path agrees with the byte path', () => {
    const w = 7;
    const h = 3;
    const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 37) & 0xff);
    const fast = rgbaToXrgb8888(rgba, w, h);
    const slow = rgbaToXrgb8888(rgba, w, h, w * 4 + 4).filter((_, i) => i % (w * 4 + 4) < w * 4);
    expect([...fast]).toEqual([...slow]);
  });

  it('refuses buffers that are too small', () => {
    expect(() => rgbaToRgb565(new Uint8Array(4), 2, 1, false)).toThrow(RangeError);
    expect(() => rgbaToXrgb8888(new Uint8Array(8), 2, 1, 4)).toThrow(RangeError);
  });
});
