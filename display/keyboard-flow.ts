/**
 * Asking the owner for a line of text on the device's own keyboard screen (display/keyboard.ts): the contact name
 * at pairing now, a message later.
 */
import { keyboardStep, newKeyboard } from './keyboard.js';
import type { KeyboardContent, ScreenContent } from './screen-types.js';
import type { UiAction } from './ui.js';

/** The part of the device UI the keyboard uses (DeviceUi implements it). */
export interface KeyboardUi {
  show(content: ScreenContent, o?: { insecure?: boolean }): number;
  update(instance: number, content: ScreenContent): void;
  onAction(listener: (a: UiAction) => void): () => void;
}

/** What to ask. */
export interface TextAsk {
  readonly title: string;
  /** What the value starts as (a suggestion the owner may keep, edit or clear). */
  readonly initial: string;
  readonly hint: string;
  readonly submit: string;
  readonly maxLength: number;
  /** Why a value cannot be taken (a short line for the screen), or null to take it. */
  readonly check: (value: string) => string | null;
  /** Mark the screen INSECURE. */
  readonly insecure?: boolean;
  /** Aborting gives up the question (the promise resolves null). */
  readonly signal?: AbortSignal;
}

/**
 * Show the keyboard and resolve with the value the owner submitted and `check` accepted, or null when they
 * pressed Cancel or `signal` aborted. Only actions of the keyboard's own screen instance count; a refused value
 * stays on screen with the reason in place of the hint.
 */
export function askText(ui: KeyboardUi, o: TextAsk): Promise<string | null> {
  return new Promise((resolve) => {
    if (o.signal?.aborted) {
      resolve(null);
      return;
    }
    let content: KeyboardContent = newKeyboard({
      title: o.title,
      value: o.initial,
      submit: o.submit,
      hint: o.hint,
      maxLength: o.maxLength,
    });
    const instance = ui.show(content, { insecure: o.insecure ?? false });
    const finish = (v: string | null) => {
      detach();
      o.signal?.removeEventListener('abort', onAbort);
      resolve(v);
    };
    const onAbort = () => finish(null);
    const detach = ui.onAction((a) => {
      if (a.screen !== 'keyboard' || a.instance !== instance) return;
      const step = keyboardStep(content, a.button);
      if (step.kind === 'cancel') return finish(null);
      if (step.kind === 'submit') {
        const problem = o.check(step.value);
        if (problem === null) return finish(step.value);
        content = { ...content, error: problem };
      } else {
        content = step.content;
      }
      ui.update(instance, content);
    });
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
