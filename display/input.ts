import type { KeyName } from './layout.js';

/**
 * Input events as the device UI sees them, from any source: the evdev touchscreen (evdev.ts), GPIO keys
 * (keys.ts), or the simulator (sim-input.ts). Touch coordinates are screen pixels of the layout.
 *
 * Contract: a touch source reports one primary contact as down, move*, up; `contacts` is how many fingers are
 * on the panel (the UI cancels a hold when a second one lands). A key source reports down, repeat*, up.
 */
export type InputEvent =
  | {
      readonly kind: 'touch';
      readonly phase: 'down' | 'move' | 'up';
      readonly x: number;
      readonly y: number;
      readonly contacts: number;
    }
  | { readonly kind: 'key'; readonly key: KeyName; readonly phase: 'down' | 'repeat' | 'up' };

/** A source of input events. */
export interface InputSource {
  /** Register a listener; returns a function that removes it. */
  onInput(listener: (e: InputEvent) => void): () => void;
  /** Stop reading and release the device. */
  close(): Promise<void>;
}

/** A tiny listener list, for implementations. */
export class Listeners<T> {
  private readonly set = new Set<(e: T) => void>();

  add(listener: (e: T) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(e: T): void {
    for (const l of [...this.set]) l(e);
  }
}
