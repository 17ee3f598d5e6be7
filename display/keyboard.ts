/**
 * The on-screen keyboard's model: which keys it has in each mode, and what a key press does to what is typed.
 * Pure functions of the keyboard's content; the screen (screens/keyboard.ts) draws it and the flow
 * (keyboard-flow.ts) feeds it the device UI's actions. On the touch layout every character is a key; on the keys
 * layout a picker walks the mode's characters with the joystick (left/right), up/down change the mode, the
 * joystick press types the character under the picker, and KEY1/2/3 are Delete, Cancel and the submit key.
 */
import type { KeyboardContent, KeyboardMode } from './screen-types.js';

/** The modes in the order up/down walk them. */
export const KEYBOARD_MODES: readonly KeyboardMode[] = ['lower', 'upper', 'digits'];

/** What each mode shows on the mode key. */
export const MODE_LABEL: Readonly<Record<KeyboardMode, string>> = { lower: 'abc', upper: 'ABC', digits: '123' };

/** The characters of each mode for the contact-name character set, in picker order; space is on its own key. */
const NAME_CHARS: Readonly<Record<KeyboardMode, string>> = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789 .-_@',
};

/** Every character set the keyboard knows (a message set can be added beside `name`). */
const CHARSETS: Readonly<Record<KeyboardContent['charset'], Readonly<Record<KeyboardMode, string>>>> = {
  name: NAME_CHARS,
};

/** The touch layout's character rows in each mode. */
const TOUCH_ROWS: Readonly<Record<KeyboardMode, readonly string[]>> = {
  lower: ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'],
  upper: ['QWERTYUIOP', 'ASDFGHJKL', 'ZXCVBNM'],
  digits: ['1234567890', '.-_@', ''],
};

/** The characters the picker walks in a mode (keys layout). */
export function pickerChars(k: Pick<KeyboardContent, 'charset' | 'mode'>): readonly string[] {
  return [...CHARSETS[k.charset][k.mode]];
}

/** The character rows of the touch layout in a mode. */
export function touchRows(k: Pick<KeyboardContent, 'charset' | 'mode'>): readonly (readonly string[])[] {
  return TOUCH_ROWS[k.mode].map((r) => [...r]);
}

/** The button id of a character key: `char.` and its code point in hex. */
export function charButton(ch: string): string {
  return `char.${(ch.codePointAt(0) ?? 0).toString(16)}`;
}

/** The character of a `char.` button id, or null for any other id. */
export function charOfButton(id: string): string | null {
  const m = /^char\.([0-9a-f]{1,6})$/.exec(id);
  if (!m) return null;
  const cp = Number.parseInt(m[1] as string, 16);
  return cp <= 0x10ffff ? String.fromCodePoint(cp) : null;
}

/** Every character this keyboard can type. */
export function keyboardRepertoire(k: Pick<KeyboardContent, 'charset'>): ReadonlySet<string> {
  const c = CHARSETS[k.charset];
  return new Set([...c.lower, ...c.upper, ...c.digits]);
}

/** What a key press did: the keyboard's new content, or the owner's submit or cancel. */
export type KeyboardStep =
  | { readonly kind: 'edit'; readonly content: KeyboardContent }
  | { readonly kind: 'submit'; readonly value: string }
  | { readonly kind: 'cancel' };

function cycle<T>(list: readonly T[], at: number, delta: number): number {
  return (((at + delta) % list.length) + list.length) % list.length;
}

function typed(k: KeyboardContent, ch: string): KeyboardContent {
  if (!keyboardRepertoire(k).has(ch) || [...k.value].length >= k.maxLength) return k;
  return { ...k, value: k.value + ch, error: null };
}

/**
 * Apply one button of the keyboard screen. Unknown ids change nothing. Typing past `maxLength` or a character
 * outside the repertoire changes nothing; any edit clears the error line.
 */
export function keyboardStep(k: KeyboardContent, button: string): KeyboardStep {
  const edit = (content: KeyboardContent): KeyboardStep => ({ kind: 'edit', content });
  const ch = charOfButton(button);
  if (ch !== null) return edit(typed(k, ch));
  switch (button) {
    case 'space':
      return edit(typed(k, ' '));
    case 'backspace':
      return edit({ ...k, value: [...k.value].slice(0, -1).join(''), error: null });
    case 'shift':
      return edit({ ...k, mode: k.mode === 'upper' ? 'lower' : 'upper', selected: 0 });
    case 'mode':
      return edit({ ...k, mode: k.mode === 'digits' ? 'lower' : 'digits', selected: 0 });
    case 'mode.next':
    case 'mode.prev': {
      const i = cycle(KEYBOARD_MODES, KEYBOARD_MODES.indexOf(k.mode), button === 'mode.next' ? 1 : -1);
      return edit({ ...k, mode: KEYBOARD_MODES[i] as KeyboardMode, selected: 0 });
    }
    case 'pick.next':
    case 'pick.prev': {
      const chars = pickerChars(k);
      return edit({ ...k, selected: cycle(chars, k.selected, button === 'pick.next' ? 1 : -1) });
    }
    case 'pick.enter':
      return edit(typed(k, pickerChars(k)[k.selected] ?? ''));
    case 'submit':
      return { kind: 'submit', value: k.value };
    case 'cancel':
      return { kind: 'cancel' };
    default:
      return edit(k);
  }
}

/** A fresh keyboard. */
export function newKeyboard(o: {
  readonly title: string;
  readonly value?: string;
  readonly submit: string;
  readonly hint: string;
  readonly maxLength: number;
}): KeyboardContent {
  return {
    id: 'keyboard',
    charset: 'name',
    title: o.title,
    value: o.value ?? '',
    mode: 'lower',
    selected: 0,
    maxLength: o.maxLength,
    hint: o.hint,
    error: null,
    submit: o.submit,
  };
}
