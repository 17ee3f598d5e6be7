import { constants, type FileHandle, open, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { OnepadError } from '../device/errors.js';
import { type PixelFormat, rgbaToRgb565, rgbaToXrgb8888 } from './pixels.js';
import type { Frame, Sink } from './sink.js';

/** A framebuffer's geometry as sysfs reports it. */
export interface FbGeometry {
  readonly width: number;
  readonly height: number;
  /** Bytes per row (may exceed width * bytes per pixel). */
  readonly stride: number;
  readonly bitsPerPixel: number;
  readonly format: PixelFormat;
}

function unavailable(reason: string, hint: string): OnepadError {
  return new OnepadError('DISPLAY_UNAVAILABLE', { reason }, hint);
}

async function readInts(path: string): Promise<number[]> {
  const text = (await readFile(path, 'utf8')).trim();
  return text.split(/[,\s]+/).map((s) => Number.parseInt(s, 10));
}

/**
 * Read a framebuffer's geometry from sysfs: `virtual_size` ("w,h"), `bits_per_pixel`, `stride`.
 * 16 bpp is RGB565 (Pi 0-4 under KMS), 32 bpp is XRGB8888 (Pi 5).
 *
 * @param sysfsDir - e.g. /sys/class/graphics/fb0
 * @throws OnepadError DISPLAY_UNAVAILABLE when a file is missing or malformed, or the depth is not 16 or 32
 */
export async function readFbGeometry(sysfsDir: string): Promise<FbGeometry> {
  let size: number[];
  let bpp: number;
  let stride: number;
  try {
    size = await readInts(join(sysfsDir, 'virtual_size'));
    bpp = (await readInts(join(sysfsDir, 'bits_per_pixel')))[0] ?? Number.NaN;
    stride = (await readInts(join(sysfsDir, 'stride')))[0] ?? Number.NaN;
  } catch {
    throw unavailable('sysfs', `cannot read the framebuffer geometry in ${sysfsDir}`);
  }
  const [width, height] = size;
  if (
    width === undefined ||
    height === undefined ||
    ![width, height, stride].every((n) => Number.isInteger(n) && n > 0)
  ) {
    throw unavailable('sysfs', `malformed framebuffer geometry in ${sysfsDir}`);
  }
  if (bpp !== 16 && bpp !== 32) throw unavailable('depth', `${bpp} bits per pixel is not supported (16 or 32)`);
  if (stride < (width * bpp) / 8) throw unavailable('stride', 'stride is shorter than a row');
  return { width, height, stride, bitsPerPixel: bpp, format: bpp === 16 ? 'rgb565le' : 'xrgb8888' };
}

/** Options of {@link FramebufferSink.open}. */
export interface FramebufferOptions {
  /** Where fbN's sysfs directory lives (tests point this at a fake tree). */
  readonly sysfsRoot?: string;
  /** The frame size to expect; the framebuffer must be at least this large. Frames go to its top-left. */
  readonly width: number;
  readonly height: number;
}

/**
 * The Linux framebuffer: frames are converted to the device's format in a buffer of stride * height bytes and
 * written with one positioned write.
 */
export class FramebufferSink implements Sink {
  readonly width: number;
  readonly height: number;
  readonly geometry: FbGeometry;
  private fh: FileHandle | null;
  private readonly buf: Uint8Array;

  private constructor(fh: FileHandle, geometry: FbGeometry, width: number, height: number) {
    this.fh = fh;
    this.geometry = geometry;
    this.width = width;
    this.height = height;
    this.buf = new Uint8Array(geometry.stride * height);
  }

  /**
   * Open a framebuffer device (e.g. /dev/fb0) after reading its geometry from sysfs.
   * @throws OnepadError DISPLAY_UNAVAILABLE when the geometry cannot be read or is unsupported, the device is
   * smaller than the frame, or it cannot be opened for writing
   */
  static async open(device: string, o: FramebufferOptions): Promise<FramebufferSink> {
    const name = basename(device);
    const geometry = await readFbGeometry(join(o.sysfsRoot ?? '/sys/class/graphics', name));
    if (geometry.width < o.width || geometry.height < o.height) {
      throw unavailable(
        'size',
        `framebuffer is ${geometry.width}x${geometry.height}, the layout needs ${o.width}x${o.height}`,
      );
    }
    let fh: FileHandle;
    try {
      fh = await open(device, constants.O_WRONLY);
    } catch {
      throw unavailable('open', `cannot open ${device} for writing`);
    }
    const st = await stat(device).catch(() => null);
    if (st?.isFile() && st.size < geometry.stride * o.height) {
      await fh.close();
      throw unavailable('size', `${device} is smaller than the framebuffer`);
    }
    return new FramebufferSink(fh, geometry, o.width, o.height);
  }

  async write(frame: Frame): Promise<void> {
    if (!this.fh) throw unavailable('closed', 'the framebuffer is closed');
    if (frame.width !== this.width || frame.height !== this.height) {
      throw unavailable('size', `frame is ${frame.width}x${frame.height}, sink is ${this.width}x${this.height}`);
    }
    const g = this.geometry;
    if (g.format === 'xrgb8888') rgbaToXrgb8888(frame.pixels, frame.width, frame.height, g.stride, this.buf);
    else rgbaToRgb565(frame.pixels, frame.width, frame.height, false, g.stride, this.buf);
    try {
      await this.fh.write(this.buf, 0, this.buf.length, 0);
    } catch {
      throw unavailable('write', 'writing to the framebuffer failed');
    }
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}
