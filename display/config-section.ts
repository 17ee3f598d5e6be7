import type { SectionSchema } from '../device/config/section.js';

/** Which screen layout the device draws: the official 7" touchscreen, or the 240x240 ST7789 HAT with keys. */
export type LayoutId = 'touch-800x480' | 'keys-240x240';

/** GPIO pins (BCM numbers) of the keys on the Waveshare 1.3" LCD HAT. */
export interface KeyPinsConfig {
  readonly key1: number;
  readonly key2: number;
  readonly key3: number;
  readonly up: number;
  readonly down: number;
  readonly left: number;
  readonly right: number;
  readonly press: number;
}

/** The `display` config section: screen layout, output sink, input device, and the approve gesture. */
export interface DisplayConfig {
  /** The layout screens are drawn for. */
  readonly layout: LayoutId;
  /** Where frames go: the Linux framebuffer, an ST7789 panel over SPI, or the simulator's PNG sink. */
  readonly sink: 'fbdev' | 'st7789' | 'sim';
  /** Where input comes from: an evdev touchscreen, GPIO keys, or the simulator page. */
  readonly input: 'touch' | 'keys' | 'sim';
  /** How Approve must be given: held down for `holdMs`, or tapped a second time within `secondTapMs`. */
  readonly approveGesture: 'hold' | 'second-tap';
  /** How long Approve must be held. */
  readonly holdMs: number;
  /** The window for the second tap after the first one armed Approve. */
  readonly secondTapMs: number;
  /**
   * With the simulated screen only: serve it on 127.0.0.1 at this port, as a page that shows it and takes taps
   * (0: no page). `onepad simulate` has its own page for both devices.
   */
  readonly simPagePort: number;
  readonly framebuffer: {
    /** The framebuffer device, e.g. /dev/fb0. Geometry, stride and depth are read from /sys/class/graphics. */
    readonly device: string;
  };
  readonly st7789: {
    /** SPI chip select (0 = CE0, as on the Waveshare HAT). */
    readonly chipSelect: number;
    /** SPI clock divider of the BCM2835 core clock (rpio); 16 is about 25 MHz on a Pi 3/4. */
    readonly clockDivider: number;
    readonly dcPin: number;
    readonly rstPin: number;
    readonly backlightPin: number;
    /** Panel width and height in pixels. */
    readonly width: number;
    readonly height: number;
    /** Offsets of the visible area in the controller's 240x320 memory (0 for the 240x240 HAT at rotation 0). */
    readonly xOffset: number;
    readonly yOffset: number;
    /** MADCTL value (memory access control: rotation and mirroring). */
    readonly madctl: number;
  };
  readonly touch: {
    /** The evdev device of the touchscreen. */
    readonly device: string;
    /** Size of one `struct input_event`: 24 on 64-bit kernels, 16 on 32-bit; 0 = this process's word size. */
    readonly recordSize: 0 | 16 | 24;
    /** The raw axis ranges reported by the panel. */
    readonly minX: number;
    readonly maxX: number;
    readonly minY: number;
    readonly maxY: number;
    /** Applied in this order: swap the axes, invert, then rotate clockwise. */
    readonly swapXY: boolean;
    readonly invertX: boolean;
    readonly invertY: boolean;
    readonly rotation: 0 | 90 | 180 | 270;
  };
  readonly keys: {
    readonly pins: KeyPinsConfig;
    /** The sysfs GPIO number of BCM 0; -1 = find it from /sys/class/gpio (offset on kernel 6.6 and later). */
    readonly gpioBase: number;
    readonly debounceMs: number;
    /** Delay before a held key repeats, and the repeat interval. */
    readonly repeatDelayMs: number;
    readonly repeatIntervalMs: number;
  };
}

const pin = { type: 'integer', minimum: 0, maximum: 53 } as const;

export const displaySectionSchema = {
  type: 'object',
  properties: {
    layout: { enum: ['touch-800x480', 'keys-240x240'], default: 'touch-800x480' },
    sink: { enum: ['fbdev', 'st7789', 'sim'], default: 'fbdev' },
    input: { enum: ['touch', 'keys', 'sim'], default: 'touch' },
    approveGesture: { enum: ['hold', 'second-tap'], default: 'hold' },
    holdMs: { type: 'integer', minimum: 300, maximum: 10000, default: 1200 },
    secondTapMs: { type: 'integer', minimum: 500, maximum: 10000, default: 3000 },
    simPagePort: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
    framebuffer: {
      type: 'object',
      properties: { device: { type: 'string', pattern: '^/dev/fb[0-9]+$', default: '/dev/fb0' } },
      additionalProperties: false,
      default: {},
    },
    st7789: {
      type: 'object',
      properties: {
        chipSelect: { type: 'integer', minimum: 0, maximum: 1, default: 0 },
        clockDivider: { type: 'integer', minimum: 2, maximum: 65536, default: 16 },
        dcPin: { ...pin, default: 25 },
        rstPin: { ...pin, default: 27 },
        backlightPin: { ...pin, default: 24 },
        width: { type: 'integer', minimum: 1, maximum: 320, default: 240 },
        height: { type: 'integer', minimum: 1, maximum: 320, default: 240 },
        xOffset: { type: 'integer', minimum: 0, maximum: 319, default: 0 },
        yOffset: { type: 'integer', minimum: 0, maximum: 319, default: 0 },
        madctl: { type: 'integer', minimum: 0, maximum: 255, default: 0x70 },
      },
      additionalProperties: false,
      default: {},
    },
    touch: {
      type: 'object',
      properties: {
        device: { type: 'string', pattern: '^/dev/input/', default: '/dev/input/event0' },
        recordSize: { enum: [0, 16, 24], default: 0 },
        minX: { type: 'integer', default: 0 },
        maxX: { type: 'integer', default: 799 },
        minY: { type: 'integer', default: 0 },
        maxY: { type: 'integer', default: 479 },
        swapXY: { type: 'boolean', default: false },
        invertX: { type: 'boolean', default: false },
        invertY: { type: 'boolean', default: false },
        rotation: { enum: [0, 90, 180, 270], default: 0 },
      },
      additionalProperties: false,
      default: {},
    },
    keys: {
      type: 'object',
      properties: {
        pins: {
          type: 'object',
          properties: {
            key1: { ...pin, default: 21 },
            key2: { ...pin, default: 20 },
            key3: { ...pin, default: 16 },
            up: { ...pin, default: 6 },
            down: { ...pin, default: 19 },
            left: { ...pin, default: 5 },
            right: { ...pin, default: 26 },
            press: { ...pin, default: 13 },
          },
          additionalProperties: false,
          default: {},
        },
        gpioBase: { type: 'integer', minimum: -1, maximum: 4096, default: -1 },
        debounceMs: { type: 'integer', minimum: 0, maximum: 1000, default: 20 },
        repeatDelayMs: { type: 'integer', minimum: 50, maximum: 5000, default: 500 },
        repeatIntervalMs: { type: 'integer', minimum: 20, maximum: 5000, default: 150 },
      },
      additionalProperties: false,
      default: {},
    },
  },
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
