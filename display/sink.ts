/**
 * Where rendered frames go. Implementations: the Linux framebuffer (fbdev.ts), an ST7789 panel over SPI
 * (st7789.ts), and the simulator's PNG sink (sim-sink.ts).
 *
 * Contract: `write` takes a frame of exactly the sink's size (RGBA, opaque) and resolves once the pixels have
 * been handed to the panel; writes are not concurrent (the device UI waits for one before the next); `close`
 * releases the device and later writes reject.
 */

/** One frame: RGBA pixels, row-major. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8ClampedArray | Uint8Array;
}

/** An output for frames. */
export interface Sink {
  readonly width: number;
  readonly height: number;
  /**
   * Write one frame.
   * @throws OnepadError DISPLAY_UNAVAILABLE when the frame does not fit the panel or the device fails
   */
  write(frame: Frame): Promise<void>;
  close(): Promise<void>;
}
