/**
 * A touch test rig: a FIFO read by the real {@link EvdevTouch} reader, attached to a device UI (800x480, hold to
 * approve) that shows a confirm-decrypt screen, with the input events and the UI's actions recorded.
 */
import { execFileSync } from 'node:child_process';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ManualClock } from '../../display/clock.js';
import { EvdevTouch, type TouchMapping } from '../../display/evdev.js';
import type { InputEvent } from '../../display/input.js';
import { TOUCH_800x480 } from '../../display/layout.js';
import { SimSink } from '../../display/sim-sink.js';
import { DeviceUi, type UiAction } from '../../display/ui.js';
import { CHROME } from './states.js';

/** What {@link openTouchRig} returns. */
export interface TouchRig {
  readonly touch: EvdevTouch;
  /** The FIFO's write end: raw `struct input_event` records go here. */
  readonly writer: FileHandle;
  readonly clock: ManualClock;
  readonly ui: DeviceUi;
  readonly events: InputEvent[];
  readonly actions: UiAction[];
  /** The centre of a button on the confirm screen, in screen pixels. */
  centre(id: string): readonly [number, number];
  close(): Promise<void>;
}

/** Wait (up to 2 s) until `pred` holds, then assert it. */
export async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(pred()).toBe(true);
}

/**
 * Make a FIFO `name` in `dir`, open the evdev reader on it and a writer, and show confirm-decrypt.
 *
 * @throws whatever {@link EvdevTouch.open} throws for the options
 */
export async function openTouchRig(
  dir: string,
  name: string,
  o: { readonly recordSize: 16 | 24; readonly mapping: TouchMapping },
): Promise<TouchRig> {
  const fifo = join(dir, name);
  execFileSync('mkfifo', [fifo]);
  const [touch, writer] = await Promise.all([
    EvdevTouch.open(fifo, { recordSize: o.recordSize, mapping: o.mapping, width: 800, height: 480 }),
    open(fifo, 'w'),
  ]);
  const clock = new ManualClock(1_000_000);
  const ui = new DeviceUi({
    layout: TOUCH_800x480,
    sink: new SimSink(800, 480),
    clock,
    chrome: CHROME,
    gesture: 'hold',
    holdMs: 1200,
    secondTapMs: 3000,
  });
  const events: InputEvent[] = [];
  touch.onInput((e) => events.push(e));
  ui.attach(touch);
  const actions: UiAction[] = [];
  ui.onAction((a) => actions.push(a));
  ui.show({ id: 'confirm-decrypt', contact: 'bob', length: 10, deadline: clock.now() + 60_000, queued: 0 });
  const centre = (id: string) => {
    const b = ui.debugLayout()?.buttons.find((x) => x.id === id);
    if (!b) throw new Error(id);
    return [Math.round(b.box.x + b.box.w / 2), Math.round(b.box.y + b.box.h / 2)] as const;
  };
  const close = async () => {
    await writer.close();
    await touch.close();
    await ui.close();
  };
  return { touch, writer, clock, ui, events, actions, centre, close };
}
