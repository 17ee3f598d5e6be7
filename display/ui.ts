import type { Clock, TimerId } from './clock.js';
import type { InputEvent, InputSource } from './input.js';
import { Listeners } from './input.js';
import type { KeyName, Layout } from './layout.js';
import type {
  Box,
  ButtonItem,
  Chrome,
  DebugLayout,
  Interaction,
  Rendered,
  ScreenContent,
  ScreenId,
  ScreenState,
} from './screen-types.js';
import { initialInteraction } from './screen-types.js';
import { render } from './screens/index.js';
import type { Sink } from './sink.js';

/** A button the user pressed, bound to the screen instance it was pressed on. */
export interface UiAction {
  readonly screen: ScreenId;
  readonly instance: number;
  readonly button: string;
}

/** Options of {@link DeviceUi}. */
export interface DeviceUiOptions {
  readonly layout: Layout;
  readonly sink: Sink;
  readonly clock: Clock;
  readonly chrome: Chrome;
  readonly gesture: 'hold' | 'second-tap';
  readonly holdMs: number;
  readonly secondTapMs: number;
  /** How many times the hold progress is redrawn during a hold (default 4). */
  readonly holdSteps?: number;
  /** Called when the sink fails; the UI keeps going (default: ignore). */
  readonly onSinkError?: (e: unknown) => void;
}

interface Press {
  readonly instance: number;
  readonly button: ButtonItem;
  readonly key: KeyName | null;
}

function inside(b: Box, x: number, y: number): boolean {
  return x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h;
}

/**
 * The device UI: owns the screen on display, renders it to the sink whenever it changes (and every second while
 * a countdown runs), and routes input to the screen's buttons by hit-testing the rendered layout (touch) or by
 * the buttons' keys (keys layout).
 *
 * Guarded buttons (Approve, Match) act only after the deliberate gesture: held for `holdMs`, or tapped a second
 * time within `secondTapMs`. A gesture is bound to the screen instance it began on: showing another screen
 * cancels it, and an action carries the instance so the receiver can check it. A second finger, or the finger
 * leaving the button, cancels a hold. "More" pages through a long message here, without an action; Approve is
 * enabled only once every page was on screen.
 */
export class DeviceUi {
  readonly layout: Layout;
  private readonly o: DeviceUiOptions;
  private readonly clock: Clock;
  private readonly actions = new Listeners<UiAction>();
  private content: ScreenContent | null = null;
  private insecure = false;
  private instanceNo = 0;
  private ui: Interaction;
  private last: Rendered | null = null;
  private press: Press | null = null;
  private holdTimer: TimerId | null = null;
  private armTimer: TimerId | null = null;
  private tickTimer: TimerId | null = null;
  private writing: Promise<void> | null = null;
  private pending: Rendered | null = null;
  private closed = false;
  private chrome: Chrome;

  constructor(o: DeviceUiOptions) {
    this.o = o;
    this.chrome = o.chrome;
    this.layout = o.layout;
    this.clock = o.clock;
    this.ui = initialInteraction(o.gesture);
  }

  /**
   * Show a screen. Any gesture in progress is cancelled.
   * @param o.insecure - also mark this screen INSECURE (e.g. a request about an insecure pad)
   * @returns the new screen's instance number
   */
  show(content: ScreenContent, o: { insecure?: boolean } = {}): number {
    this.cancelGesture(false);
    this.content = content;
    this.insecure = o.insecure ?? false;
    this.instanceNo++;
    this.ui = initialInteraction(this.o.gesture);
    this.redraw();
    return this.instanceNo;
  }

  /** Change what the trusted band shows (after first-boot setup named the device and its owner's word). */
  setChrome(chrome: Chrome): void {
    this.chrome = chrome;
    this.redraw();
  }

  /** Replace the content of the screen on display without a new instance (same screen id only). */
  update(instance: number, content: ScreenContent): void {
    if (instance !== this.instanceNo || this.content?.id !== content.id) return;
    this.content = content;
    this.redraw();
  }

  /** The instance number of the screen on display (0 before the first). */
  get instance(): number {
    return this.instanceNo;
  }

  /** The full state of the screen on display, or null. */
  get state(): ScreenState | null {
    if (!this.content) return null;
    const chrome = { ...this.chrome, insecure: this.chrome.insecure || this.insecure };
    return { ...this.content, chrome, ui: this.ui, instance: this.instanceNo, now: this.clock.now() };
  }

  /** The debug layout of the screen on display: its texts and buttons. */
  debugLayout(): DebugLayout | null {
    if (!this.last) return null;
    const { screen, texts, buttons, pages } = this.last;
    return { screen, texts, buttons, pages };
  }

  /** The last rendered frame, with its layout. */
  get rendered(): Rendered | null {
    return this.last;
  }

  /** Listen for button actions. */
  onAction(listener: (a: UiAction) => void): () => void {
    return this.actions.add(listener);
  }

  /** Route an input source's events to this UI; returns a function that detaches it. */
  attach(src: InputSource): () => void {
    return src.onInput((e) => this.input(e));
  }

  /** Resolves once every frame rendered so far has been written to the sink. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Handle one input event. */
  input(e: InputEvent): void {
    if (this.closed || !this.last) return;
    if (e.kind === 'key') {
      this.key(e.key, e.phase);
      return;
    }
    if (e.phase === 'down') {
      const b = e.contacts > 1 ? undefined : this.last.buttons.find((bt) => bt.enabled && inside(bt.box, e.x, e.y));
      this.startPress(b, null);
    } else if (e.phase === 'move') {
      const p = this.press;
      if (p && p.key === null && (e.contacts > 1 || !inside(p.button.box, e.x, e.y))) this.cancelGesture(true);
    } else {
      const p = this.press;
      if (p && p.key === null) this.release(inside(p.button.box, e.x, e.y));
    }
  }

  private key(key: KeyName, phase: 'down' | 'up' | 'repeat'): void {
    if (phase === 'repeat') return;
    // Up and down page through a message, unless the screen binds a button to them (the keyboard's modes).
    const bound = this.last?.buttons.some((bt) => bt.enabled && bt.key === key) ?? false;
    if (phase === 'down' && (key === 'up' || key === 'down') && !bound) {
      this.page(key === 'down' ? 1 : -1, false);
      return;
    }
    if (phase === 'down') {
      this.startPress(
        this.last?.buttons.find((bt) => bt.enabled && bt.key === key),
        key,
      );
    } else if (this.press && this.press.key === key) {
      this.release(true);
    }
  }

  /**
   * A new press: drop any press or hold in progress. An armed second tap survives only a press of the same
   * button; a press anywhere else disarms it.
   */
  private startPress(button: ButtonItem | undefined, key: KeyName | null): void {
    const armed = this.ui.armed;
    const keepArmed = armed !== null && button?.id === armed;
    const timer = this.armTimer;
    this.armTimer = null;
    if (!keepArmed && timer !== null) this.clock.clearTimeout(timer);
    if (keepArmed) this.ui = { ...this.ui, armed: null };
    this.cancelGesture(true);
    if (keepArmed) {
      this.ui = { ...this.ui, armed };
      this.armTimer = timer;
    }
    if (button) this.begin(button, key);
  }

  private begin(button: ButtonItem, key: KeyName | null): void {
    this.press = { instance: this.instanceNo, button, key };
    if (!button.guarded || this.o.gesture !== 'hold') return;
    const steps = Math.max(1, this.o.holdSteps ?? 4);
    const start = this.clock.now();
    const step = (k: number) => {
      this.holdTimer = this.clock.setTimeout(
        () => {
          this.holdTimer = null;
          const p = this.press;
          if (!p || p.instance !== this.instanceNo || p.button.id !== button.id) return;
          if (k < steps) {
            this.ui = { ...this.ui, hold: k / steps };
            this.redraw();
            step(k + 1);
            return;
          }
          if (this.clock.now() - start < this.o.holdMs) return;
          this.press = null;
          this.ui = { ...this.ui, hold: 0 };
          this.emit(p.instance, button.id);
          // The listener usually shows another screen; if not, take the progress bar down.
          if (this.instanceNo === p.instance) this.redraw();
        },
        Math.ceil(this.o.holdMs / steps),
      );
    };
    step(1);
  }

  private release(isInside: boolean): void {
    const p = this.press;
    this.press = null;
    if (!p || p.instance !== this.instanceNo || !isInside) {
      this.cancelGesture(true);
      return;
    }
    if (!p.button.guarded) {
      this.activate(p.instance, p.button.id);
      return;
    }
    if (this.o.gesture === 'hold') {
      this.cancelGesture(true);
      return;
    }
    if (this.ui.armed === p.button.id) {
      if (this.armTimer !== null) this.clock.clearTimeout(this.armTimer);
      this.armTimer = null;
      this.ui = { ...this.ui, armed: null };
      this.emit(p.instance, p.button.id);
      return;
    }
    this.ui = { ...this.ui, armed: p.button.id };
    const instance = p.instance;
    this.armTimer = this.clock.setTimeout(() => {
      this.armTimer = null;
      if (instance === this.instanceNo && this.ui.armed) {
        this.ui = { ...this.ui, armed: null };
        this.redraw();
      }
    }, this.o.secondTapMs);
    this.redraw();
  }

  private activate(instance: number, id: string): void {
    if (id === 'more') {
      this.page(1, true);
      return;
    }
    this.emit(instance, id);
  }

  private page(delta: number, wrap: boolean): void {
    const pages = this.last?.pages ?? 1;
    if (pages <= 1) return;
    let page = this.ui.page + delta;
    if (wrap) page = ((page % pages) + pages) % pages;
    page = Math.min(pages - 1, Math.max(0, page));
    if (page === this.ui.page) return;
    this.ui = { ...this.ui, page, seenPage: Math.max(this.ui.seenPage, page) };
    this.redraw();
  }

  private emit(instance: number, button: string): void {
    if (!this.content || instance !== this.instanceNo) return;
    this.actions.emit({ screen: this.content.id, instance, button });
  }

  /** Drop a press, a hold in progress and an armed second tap. */
  private cancelGesture(redraw: boolean): void {
    this.press = null;
    if (this.holdTimer !== null) this.clock.clearTimeout(this.holdTimer);
    if (this.armTimer !== null) this.clock.clearTimeout(this.armTimer);
    this.holdTimer = null;
    this.armTimer = null;
    if (this.ui.hold !== 0 || this.ui.armed !== null) {
      this.ui = { ...this.ui, hold: 0, armed: null };
      if (redraw) this.redraw();
    }
  }

  /** Render the current state, write it, and schedule the next countdown redraw. */
  private redraw(): void {
    const state = this.state;
    if (!state || this.closed) return;
    const r = render(state, this.layout);
    this.last = r;
    this.queueWrite(r);
    if (this.tickTimer !== null) this.clock.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    if ('deadline' in state && state.deadline > state.now) {
      const rest = (state.deadline - state.now) % 1000 || 1000;
      const instance = this.instanceNo;
      this.tickTimer = this.clock.setTimeout(() => {
        this.tickTimer = null;
        if (instance === this.instanceNo) this.redraw();
      }, rest);
    }
  }

  /** Write frames one at a time; while one is being written, only the newest waiting frame is kept. */
  private queueWrite(r: Rendered): void {
    this.pending = r;
    if (this.writing) return;
    this.writing = (async () => {
      while (this.pending) {
        const frame = this.pending;
        this.pending = null;
        try {
          await this.o.sink.write(frame);
        } catch (e) {
          this.o.onSinkError?.(e);
        }
      }
      this.writing = null;
    })();
  }

  /** Stop: cancel timers, wait for the last write. The sink is closed by its owner. */
  async close(): Promise<void> {
    this.cancelGesture(false);
    if (this.tickTimer !== null) this.clock.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    this.closed = true;
    await this.flush();
  }
}
