/**
 * Driving a simulated screen as a person would, by button id: find the button in the screen's debug layout and
 * press it there (a hold lasts real time, so the device UI's own timers see it).
 */
import type { DeviceScreen } from '../../../display/device-screen.js';
import type { ScreenId } from '../../../display/screen-types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the screen shows `id`; resolves with its texts joined by newlines. */
export async function waitForScreen(screen: DeviceScreen, id: ScreenId, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const l = screen.ui.debugLayout();
    if (l?.screen === id) return l.texts.map((t) => t.text).join('\n');
    if (Date.now() > until) throw new Error(`screen ${id} did not appear (showing ${l?.screen ?? 'nothing'})`);
    await sleep(20);
  }
}

/** The centre of a button on the screen on display. */
export function buttonCentre(screen: DeviceScreen, button: string): [number, number] {
  const b = screen.ui.debugLayout()?.buttons.find((x) => x.id === button);
  if (!b) throw new Error(`no button ${button}`);
  return [Math.round(b.box.x + b.box.w / 2), Math.round(b.box.y + b.box.h / 2)];
}

/** Press a button and hold it for `ms` of real time. */
export async function holdButton(screen: DeviceScreen, button: string, ms: number): Promise<void> {
  const input = screen.sim?.input;
  if (!input) throw new Error('not a simulated screen');
  const [x, y] = buttonCentre(screen, button);
  input.press(x, y);
  await sleep(ms);
  input.release(x, y);
}

/**
 * Press a guarded button and keep holding it until it acts, as a person holds until the bar fills (on a loaded
 * machine the hold's timers run late, so a fixed hold may be released too early).
 * @throws Error when the button has not acted within `timeoutMs`
 */
export async function holdUntilActed(screen: DeviceScreen, button: string, timeoutMs = 10_000): Promise<void> {
  const input = screen.sim?.input;
  if (!input) throw new Error('not a simulated screen');
  const [x, y] = buttonCentre(screen, button);
  let acted = false;
  const detach = screen.ui.onAction((a) => {
    if (a.button === button) acted = true;
  });
  try {
    input.press(x, y);
    const until = Date.now() + timeoutMs;
    while (!acted) {
      if (Date.now() > until) throw new Error(`button ${button} did not act within ${timeoutMs} ms of holding`);
      await sleep(20);
    }
  } finally {
    detach();
    input.release(x, y);
  }
}
