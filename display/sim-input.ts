import { type InputEvent, type InputSource, Listeners } from './input.js';
import type { KeyName } from './layout.js';

/**
 * A simulated input, driven by the simulator page and by tests: plain methods that emit the events a real
 * touchscreen or key would.
 */
export class SimInput implements InputSource {
  private readonly listeners = new Listeners<InputEvent>();

  onInput(listener: (e: InputEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Emit any event. */
  emit(e: InputEvent): void {
    this.listeners.emit(e);
  }

  /** A finger lands at (x, y). */
  press(x: number, y: number, contacts = 1): void {
    this.emit({ kind: 'touch', phase: 'down', x, y, contacts });
  }

  /** The finger moves to (x, y). */
  move(x: number, y: number, contacts = 1): void {
    this.emit({ kind: 'touch', phase: 'move', x, y, contacts });
  }

  /** The finger lifts at (x, y). */
  release(x: number, y: number): void {
    this.emit({ kind: 'touch', phase: 'up', x, y, contacts: 0 });
  }

  /** A tap: press and release at once. */
  tap(x: number, y: number): void {
    this.press(x, y);
    this.release(x, y);
  }

  /** A key goes down or up. */
  key(key: KeyName, phase: 'down' | 'up' | 'repeat'): void {
    this.emit({ kind: 'key', key, phase });
  }

  async close(): Promise<void> {}
}
