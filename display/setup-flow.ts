/**
 * First-boot setup on the device's own screen: the device proposes a name, then the owner's word, each drawn at
 * random from a word list; Another proposes a different one, a hold on Keep keeps it.
 */
import { randomInt } from 'node:crypto';
import type { Identity } from '../device/identity.js';
import type { DeviceUi } from './ui.js';

function propose(words: readonly string[], not: string, pick: (n: number) => number): string {
  for (;;) {
    const w = words[pick(words.length)] as string;
    if (w !== not) return w;
  }
}

/** How {@link runSetup} chooses words and when it gives up. */
export interface SetupOptions {
  /** Index chooser (tests pass a deterministic one; the device uses crypto.randomInt). */
  readonly pick?: (n: number) => number;
  /** Stops the setup (the service is stopping): it then resolves `null` and keeps nothing. */
  readonly signal?: AbortSignal;
}

/**
 * Ask for the device name and the owner's word; resolves when both were kept, or `null` once `signal` aborts.
 */
export function runSetup(
  ui: Pick<DeviceUi, 'show' | 'onAction'>,
  words: readonly string[],
  { pick = (n) => randomInt(n), signal }: SetupOptions = {},
): Promise<Identity | null> {
  if (signal?.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    let step: 'name' | 'word' = 'name';
    let value = `pad-${propose(words, '', pick)}`;
    let name = '';
    let instance = ui.show({ id: 'setup', step, value });
    const detach = ui.onAction((a) => {
      if (a.screen !== 'setup' || a.instance !== instance) return;
      if (a.button === 'another') {
        value = step === 'name' ? `pad-${propose(words, value.slice(4), pick)}` : propose(words, value, pick);
      } else if (a.button === 'keep' && step === 'name') {
        name = value;
        step = 'word';
        value = propose(words, '', pick);
      } else if (a.button === 'keep') {
        detach();
        signal?.removeEventListener('abort', stop);
        resolve({ name, ownerWord: value });
        return;
      } else {
        return;
      }
      instance = ui.show({ id: 'setup', step, value });
    });
    const stop = () => {
      detach();
      resolve(null);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}
