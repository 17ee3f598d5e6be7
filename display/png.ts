import { createCanvas, ImageData } from '@napi-rs/canvas';

/**
 * Encode raw RGBA pixels as PNG (for the simulator page and for review of UI test differences).
 * @throws RangeError when `pixels` is not width*height*4 bytes
 */
export function encodePng(pixels: Uint8ClampedArray | Uint8Array, width: number, height: number): Buffer {
  if (pixels.length !== width * height * 4) throw new RangeError('pixels must be width*height*4 bytes');
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const data = new Uint8ClampedArray(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  ctx.putImageData(new ImageData(data, width, height), 0, 0);
  return canvas.encodeSync('png');
}
