import type { Clock, TimerId } from './clock.js';
import type { KeyPinsConfig } from './config-section.js';
import type { InputPin, InputPins, Level } from './hw.js';
import { type InputEvent, type InputSource, Listeners } from './input.js';
import { KEY_NAMES, type KeyName } from './layout.js';

/** Timing of {@link GpioKeys}. */
export interface KeyTiming {
  readonly debounceMs: number;
  readonly repeatDelayMs: number;
  readonly repeatIntervalMs: number;
}

interface KeyState {
  readonly pin: InputPin;
  pressed: boolean;
  debounce: TimerId | null;
  repeat: TimerId | null;
}

/**
 * GPIO keys, active-low (pressed pulls the pin to ground). An edge starts a debounce timer; when it fires the
 * pin is read again and a change of state is reported as down or up. A key held past `repeatDelayMs` repeats
 * every `repeatIntervalMs` until released.
 */
export class GpioKeys implements InputSource {
  private readonly listeners = new Listeners<InputEvent>();
  private readonly keys = new Map<KeyName, KeyState>();
  private readonly clock: Clock;
  private readonly t: KeyTiming;
  private closed = false;

  /**
   * @param pins - BCM pin of each key
   * @param gpio - opens input pins (onoff on a Pi, a fake in tests)
   */
  constructor(pins: KeyPinsConfig, gpio: InputPins, clock: Clock, timing: KeyTiming) {
    this.clock = clock;
    this.t = timing;
    for (const key of KEY_NAMES) {
      const pin = gpio.open(pins[key]);
      const st: KeyState = { pin, pressed: pin.read() === 0, debounce: null, repeat: null };
      this.keys.set(key, st);
      pin.watch((level) => this.edge(key, st, level));
    }
  }

  onInput(listener: (e: InputEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  private edge(key: KeyName, st: KeyState, level: Level): void {
    if (this.closed) return;
    if (st.debounce !== null) this.clock.clearTimeout(st.debounce);
    st.debounce = null;
    if (this.t.debounceMs === 0) {
      this.settle(key, st, level);
      return;
    }
    st.debounce = this.clock.setTimeout(() => {
      st.debounce = null;
      this.settle(key, st, st.pin.read());
    }, this.t.debounceMs);
  }

  private settle(key: KeyName, st: KeyState, level: Level): void {
    const pressed = level === 0;
    if (pressed === st.pressed) return;
    st.pressed = pressed;
    if (st.repeat !== null) this.clock.clearTimeout(st.repeat);
    st.repeat = null;
    this.listeners.emit({ kind: 'key', key, phase: pressed ? 'down' : 'up' });
    if (pressed) this.scheduleRepeat(key, st, this.t.repeatDelayMs);
  }

  private scheduleRepeat(key: KeyName, st: KeyState, ms: number): void {
    st.repeat = this.clock.setTimeout(() => {
      st.repeat = null;
      if (!st.pressed || this.closed) return;
      this.listeners.emit({ kind: 'key', key, phase: 'repeat' });
      this.scheduleRepeat(key, st, this.t.repeatIntervalMs);
    }, ms);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const st of this.keys.values()) {
      if (st.debounce !== null) this.clock.clearTimeout(st.debounce);
      if (st.repeat !== null) this.clock.clearTimeout(st.repeat);
      st.pin.close();
    }
  }
}
