import { OnepadError } from '../device/errors.js';
import type { DisplayConfig } from './config-section.js';
import type { OutputPins, Sleep, Spi } from './hw.js';
import { rgbaToRgb565 } from './pixels.js';
import type { Frame, Sink } from './sink.js';

/** ST7789 commands used here (datasheet section 9.1). */
export const ST7789 = {
  SWRESET: 0x01,
  SLPOUT: 0x11,
  NORON: 0x13,
  INVON: 0x21,
  DISPON: 0x29,
  CASET: 0x2a,
  RASET: 0x2b,
  RAMWR: 0x2c,
  MADCTL: 0x36,
  COLMOD: 0x3a,
} as const;

/** Panel settings: the `display.st7789` config without the SPI bus settings, and the largest SPI transfer. */
export type St7789Options = Omit<DisplayConfig['st7789'], 'chipSelect' | 'clockDivider'> & {
  /** Largest SPI transfer (bytes). */
  readonly chunk?: number;
};

/**
 * An ST7789 panel on SPI (Waveshare 1.3" LCD HAT): DC low for a command byte, high for its parameters and for
 * pixel data; RGB565 big-endian, written to an address window covering the panel.
 */
export class St7789Sink implements Sink {
  readonly width: number;
  readonly height: number;
  private readonly spi: Spi;
  private readonly pins: OutputPins;
  private readonly o: St7789Options;
  private readonly buf: Uint8Array;
  private closed = false;

  constructor(spi: Spi, pins: OutputPins, o: St7789Options) {
    this.spi = spi;
    this.pins = pins;
    this.o = o;
    this.width = o.width;
    this.height = o.height;
    this.buf = new Uint8Array(o.width * o.height * 2);
  }

  /** Send one command byte and its parameters. */
  command(cmd: number, params?: readonly number[]): void {
    this.pins.write(this.o.dcPin, 0);
    this.spi.write(Uint8Array.of(cmd));
    if (params && params.length > 0) {
      this.pins.write(this.o.dcPin, 1);
      this.spi.write(Uint8Array.from(params));
    }
  }

  /** Hardware reset, then the init sequence: sleep out, 16-bit colour, MADCTL, inversion on, display on. */
  async init(sleep: Sleep): Promise<void> {
    const { dcPin, rstPin, backlightPin } = this.o;
    for (const pin of [dcPin, rstPin, backlightPin]) this.pins.setup(pin);
    this.pins.write(rstPin, 1);
    await sleep(5);
    this.pins.write(rstPin, 0);
    await sleep(10);
    this.pins.write(rstPin, 1);
    await sleep(120);
    this.command(ST7789.SWRESET);
    await sleep(150);
    this.command(ST7789.SLPOUT);
    await sleep(120);
    this.command(ST7789.COLMOD, [0x55]);
    this.command(ST7789.MADCTL, [this.o.madctl]);
    this.command(ST7789.INVON);
    this.command(ST7789.NORON);
    this.command(ST7789.DISPON);
    await sleep(10);
    this.pins.write(backlightPin, 1);
  }

  /** Set the address window to columns x0..x1 and rows y0..y1 (inclusive) and start a RAM write. */
  window(x0: number, y0: number, x1: number, y1: number): void {
    this.command(ST7789.CASET, [x0 >> 8, x0 & 0xff, x1 >> 8, x1 & 0xff]);
    this.command(ST7789.RASET, [y0 >> 8, y0 & 0xff, y1 >> 8, y1 & 0xff]);
    this.command(ST7789.RAMWR);
  }

  async write(frame: Frame): Promise<void> {
    if (this.closed) throw new OnepadError('DISPLAY_UNAVAILABLE', { reason: 'closed' }, 'the panel is closed');
    if (frame.width !== this.width || frame.height !== this.height) {
      throw new OnepadError(
        'DISPLAY_UNAVAILABLE',
        { reason: 'size' },
        `frame is ${frame.width}x${frame.height}, panel is ${this.width}x${this.height}`,
      );
    }
    rgbaToRgb565(frame.pixels, frame.width, frame.height, true, frame.width * 2, this.buf);
    const { xOffset: x, yOffset: y } = this.o;
    this.window(x, y, x + this.width - 1, y + this.height - 1);
    this.pins.write(this.o.dcPin, 1);
    const chunk = this.o.chunk ?? 4096;
    for (let i = 0; i < this.buf.length; i += chunk) this.spi.write(this.buf.subarray(i, i + chunk));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pins.write(this.o.backlightPin, 0);
    this.spi.close();
    this.pins.close();
  }
}
