import { ManualClock } from '../../display/clock.js';
import { type Layout, TOUCH_800x480 } from '../../display/layout.js';
import { SimInput } from '../../display/sim-input.js';
import { SimSink } from '../../display/sim-sink.js';
import { DeviceUi, type UiAction } from '../../display/ui.js';
import { CHROME } from './states.js';

/** A device UI on simulated hardware with a manual clock, and helpers to press its buttons by id. */
export function simUi(o: { gesture?: 'hold' | 'second-tap'; layout?: Layout; insecure?: boolean } = {}) {
  const layout = o.layout ?? TOUCH_800x480;
  const clock = new ManualClock(1_000_000);
  const sink = new SimSink(layout.width, layout.height);
  const input = new SimInput();
  const ui = new DeviceUi({
    layout,
    sink,
    clock,
    chrome: { ...CHROME, insecure: o.insecure ?? false },
    gesture: o.gesture ?? 'hold',
    holdMs: 1200,
    secondTapMs: 3000,
  });
  ui.attach(input);
  const actions: UiAction[] = [];
  ui.onAction((a) => actions.push(a));
  const centre = (id: string): [number, number] => {
    const b = ui.debugLayout()?.buttons.find((x) => x.id === id);
    if (!b) throw new Error(`no button ${id}`);
    return [Math.round(b.box.x + b.box.w / 2), Math.round(b.box.y + b.box.h / 2)];
  };
  const tap = (id: string) => input.tap(...centre(id));
  const hold = (id: string, ms: number) => {
    const [x, y] = centre(id);
    input.press(x, y);
    clock.advance(ms);
    input.release(x, y);
  };
  const text = (id: string) => ui.debugLayout()?.texts.find((t) => t.id === id)?.text;
  return { layout, clock, sink, input, ui, actions, centre, tap, hold, text };
}
