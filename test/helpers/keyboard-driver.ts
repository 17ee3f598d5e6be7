/**
 * Types on the device's keyboard screen as a person would: taps on the touch layout's keys (found by their
 * labels in the debug layout), or the joystick and keys on the 240x240 layout (reading the picker's character
 * from the screen). Used by the keyboard tests, the pairing-with-naming tests and the simulator's tests.
 */
import type { SimInput } from '../../display/sim-input.js';
import type { DeviceUi } from '../../display/ui.js';

type Ui = Pick<DeviceUi, 'debugLayout' | 'state'>;

function layoutOf(ui: Ui) {
  const l = ui.debugLayout();
  if (l?.screen !== 'keyboard') throw new Error(`the keyboard is not on screen (${l?.screen ?? 'nothing'})`);
  return l;
}

function tapButton(ui: Ui, input: SimInput, pick: (b: { id: string; label: string }) => boolean): boolean {
  const b = layoutOf(ui).buttons.find((x) => x.enabled && pick(x));
  if (!b) return false;
  input.tap(Math.round(b.box.x + b.box.w / 2), Math.round(b.box.y + b.box.h / 2));
  return true;
}

/** Tap a keyboard button by id (touch layout), e.g. `submit`, `backspace`. */
export function tapKey(ui: Ui, input: SimInput, id: string): void {
  if (!tapButton(ui, input, (b) => b.id === id)) throw new Error(`no key ${id} on the keyboard`);
}

/** Touch: type `text`, switching modes (ABC / abc / 123) as the labels on screen show. */
export function typeOnTouch(ui: Ui, input: SimInput, text: string): void {
  for (const ch of text) {
    for (let tries = 0; ; tries++) {
      if (tapButton(ui, input, (b) => (ch === ' ' ? b.id === 'space' : b.label === ch && b.id.startsWith('char.'))))
        break;
      if (tries > 3) throw new Error(`cannot find a key for ${JSON.stringify(ch)}`);
      // Not on this mode's keys: capitals, small letters or digits, in turn.
      const want = /[A-Z]/.test(ch) ? 'ABC' : /[a-z]/.test(ch) ? 'abc' : '123';
      if (!tapButton(ui, input, (b) => (b.id === 'shift' || b.id === 'mode') && b.label === want)) {
        tapKey(ui, input, tries % 2 === 0 ? 'mode' : 'shift');
      }
    }
  }
}

function pressKey(input: SimInput, key: Parameters<SimInput['key']>[0]): void {
  input.key(key, 'down');
  input.key(key, 'up');
}

/** The character under the picker, as drawn (␣ for space). */
function picked(ui: Ui): string {
  const b = layoutOf(ui).buttons.find((x) => x.id === 'pick.enter');
  if (!b) throw new Error('no picker on screen');
  return b.label === '\u2423' ? ' ' : b.label;
}

/** Keys layout: press one of KEY1/2/3 by its button id (`backspace`, `cancel`, `submit`). */
export function pressButtonKey(ui: Ui, input: SimInput, id: string): void {
  const b = layoutOf(ui).buttons.find((x) => x.id === id);
  if (!b?.key) throw new Error(`no key for ${id}`);
  pressKey(input, b.key);
}

/** Keys layout: type `text` with the picker: up/down to the character's mode, left/right to it, press. */
export function typeOnKeys(ui: Ui, input: SimInput, text: string): void {
  for (const ch of text) {
    let found = false;
    for (let mode = 0; mode < 3 && !found; mode++) {
      const first = picked(ui);
      for (let step = 0; step < 40; step++) {
        if (picked(ui) === ch) {
          found = true;
          break;
        }
        pressKey(input, 'right');
        if (picked(ui) === first) break;
      }
      if (!found) pressKey(input, 'down');
    }
    if (!found) throw new Error(`the picker has no ${JSON.stringify(ch)}`);
    pressKey(input, 'press');
  }
}

/** Delete everything typed so far, with the layout's own delete key. */
export function clearValue(ui: Ui, input: SimInput): void {
  const state = ui.state;
  const n = state?.id === 'keyboard' ? [...state.value].length : 0;
  const touch = layoutOf(ui).buttons.some((b) => b.id === 'space');
  for (let i = 0; i < n; i++) {
    if (touch) tapKey(ui, input, 'backspace');
    else pressButtonKey(ui, input, 'backspace');
  }
}
