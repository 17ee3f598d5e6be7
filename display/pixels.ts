/**
 * Pixel format conversion from the canvas's RGBA to what panels take. Tight typed-array loops: at 800x480
 * this runs for every frame.
 */

/** Pixel formats the sinks write. */
export type PixelFormat = 'rgb565le' | 'rgb565be' | 'xrgb8888';

/** Bytes per pixel of a format. */
export function bytesPerPixel(f: PixelFormat): 2 | 4 {
  return f === 'xrgb8888' ? 4 : 2;
}

/**
 * Convert RGBA to RGB565. Little-endian is the Linux framebuffer's layout; big-endian is what the ST7789 takes
 * over SPI. Rows are `stride` bytes apart in the output (>= width*2; padding left zero).
 * @throws RangeError when the sizes do not fit
 */
export function rgbaToRgb565(
  rgba: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
  bigEndian: boolean,
  stride = width * 2,
  out: Uint8Array = new Uint8Array(stride * height),
): Uint8Array {
  if (rgba.length < width * height * 4) throw new RangeError('rgba is smaller than width*height*4');
  if (stride < width * 2 || out.length < stride * (height - 1) + width * 2) throw new RangeError('out is too small');
  const hi = bigEndian ? 0 : 1;
  const lo = bigEndian ? 1 : 0;
  let s = 0;
  for (let y = 0; y < height; y++) {
    let d = y * stride;
    for (let x = 0; x < width; x++, s += 4, d += 2) {
      const r = rgba[s]!;
      const g = rgba[s + 1]!;
      const b = rgba[s + 2]!;
      const v = ((r & 0xf8) << 8) | ((g & 0xfc) << 3) | (b >> 3);
      out[d + hi] = v >> 8;
      out[d + lo] = v & 0xff;
    }
  }
  return out;
}

/**
 * Convert RGBA to 32 bpp XRGB8888 as the framebuffer stores it on a little-endian machine: bytes B, G, R, X
 * (X written as 0xff). Rows are `stride` bytes apart.
 * @throws RangeError when the sizes do not fit
 */
export function rgbaToXrgb8888(
  rgba: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
  stride = width * 4,
  out: Uint8Array = new Uint8Array(stride * height),
): Uint8Array {
  if (rgba.length < width * height * 4) throw new RangeError('rgba is smaller than width*height*4');
  if (stride < width * 4 || out.length < stride * (height - 1) + width * 4) throw new RangeError('out is too small');
  const aligned = stride === width * 4 && out.byteOffset % 4 === 0 && rgba.byteOffset % 4 === 0;
  if (aligned) {
    // One 32-bit word per pixel: RGBA in memory is 0xAABBGGRR (little-endian), we want 0xFFRRGGBB.
    const src = new Uint32Array(rgba.buffer, rgba.byteOffset, width * height);
    const dst = new Uint32Array(out.buffer, out.byteOffset, width * height);
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      dst[i] = (0xff000000 | ((v & 0xff) << 16) | (v & 0xff00) | ((v >>> 16) & 0xff)) >>> 0;
    }
    return out;
  }
  let s = 0;
  for (let y = 0; y < height; y++) {
    let d = y * stride;
    for (let x = 0; x < width; x++, s += 4, d += 4) {
      out[d] = rgba[s + 2]!;
      out[d + 1] = rgba[s + 1]!;
      out[d + 2] = rgba[s]!;
      out[d + 3] = 0xff;
    }
  }
  return out;
}

/** Decode RGB565 back to RGBA (for tests and review): the inverse of {@link rgbaToRgb565} up to precision. */
export function rgb565ToRgba(
  src: Uint8Array,
  width: number,
  height: number,
  bigEndian: boolean,
  stride = width * 2,
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(width * height * 4);
  let d = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++, d += 4) {
      const o = y * stride + x * 2;
      const v = bigEndian ? (src[o]! << 8) | src[o + 1]! : (src[o + 1]! << 8) | src[o]!;
      const r = (v >> 11) & 0x1f;
      const g = (v >> 5) & 0x3f;
      const b = v & 0x1f;
      out[d] = (r << 3) | (r >> 2);
      out[d + 1] = (g << 2) | (g >> 4);
      out[d + 2] = (b << 3) | (b >> 2);
      out[d + 3] = 0xff;
    }
  }
  return out;
}
