import type { LayoutId } from './config-section.js';

/** The physical keys of the Waveshare 1.3" LCD HAT: three keys at the right edge and a five-way joystick. */
export type KeyName = 'key1' | 'key2' | 'key3' | 'up' | 'down' | 'left' | 'right' | 'press';

/** All key names, in a fixed order. */
export const KEY_NAMES: readonly KeyName[] = ['key1', 'key2', 'key3', 'up', 'down', 'left', 'right', 'press'];

/** Where things go on one kind of panel. Screens read only this, never the panel itself. */
export interface Layout {
  readonly id: LayoutId;
  readonly width: number;
  readonly height: number;
  /** Touch: buttons are tapped. Keys: buttons are labels beside the HAT's KEY1/2/3. */
  readonly input: 'touch' | 'keys';
  /** Height of the trusted band at the top. */
  readonly band: number;
  readonly margin: number;
  /** Font sizes in pixels. */
  readonly title: number;
  readonly body: number;
  readonly small: number;
  /** Touch: height of the bottom button row. Keys: width of the right-hand key label column. */
  readonly controls: number;
}

/** The official 7" Raspberry Pi touchscreen. */
export const TOUCH_800x480: Layout = Object.freeze({
  id: 'touch-800x480',
  width: 800,
  height: 480,
  input: 'touch',
  band: 40,
  margin: 16,
  title: 26,
  body: 22,
  small: 18,
  controls: 72,
});

/** The Waveshare 1.3" LCD HAT (ST7789, 240x240) with KEY1/2/3 and a joystick. */
export const KEYS_240x240: Layout = Object.freeze({
  id: 'keys-240x240',
  width: 240,
  height: 240,
  input: 'keys',
  band: 22,
  margin: 4,
  title: 14,
  body: 13,
  small: 11,
  controls: 56,
});

/** Layouts by id. */
export const LAYOUTS: Readonly<Record<LayoutId, Layout>> = Object.freeze({
  'touch-800x480': TOUCH_800x480,
  'keys-240x240': KEYS_240x240,
});

/** The keys beside the three button slots of the keys layout, top to bottom. */
export const SLOT_KEYS: readonly KeyName[] = ['key1', 'key2', 'key3'];
