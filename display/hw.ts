/**
 * The small hardware interfaces the display drives: an SPI bus, output pins, input pins. The Pi
 * implementations (rpio-hw.ts, onoff-hw.ts) are thin and loaded only on a Pi; tests pass recording fakes.
 * Pin numbers are BCM GPIO numbers.
 */

/** A logic level. */
export type Level = 0 | 1;

/** An SPI bus with its chip select already chosen. */
export interface Spi {
  /** Transmit bytes (received bytes are discarded). */
  write(data: Uint8Array): void;
  close(): void;
}

/** Output pins (DC, RST, backlight). */
export interface OutputPins {
  /** Make `pin` an output, driven low. */
  setup(pin: number): void;
  write(pin: number, level: Level): void;
  close(): void;
}

/** One input pin with edge notification. */
export interface InputPin {
  read(): Level;
  /** Call `cb` with the new level on every edge (levels may bounce). */
  watch(cb: (level: Level) => void): void;
  close(): void;
}

/** Opens input pins. */
export interface InputPins {
  /** @param pin - BCM number (the implementation adds the chip's sysfs base) */
  open(pin: number): InputPin;
}

/** Sleep, passed in so the ST7789 init sequence runs instantly in tests. */
export type Sleep = (ms: number) => Promise<void>;

/** The real sleep. */
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
