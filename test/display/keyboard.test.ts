/**
 * The keyboard screen driven through simulated touch and keys, as a person would type: any text of its repertoire
 * comes out exactly as typed on both layouts; a refused value stays with the reason on screen; Cancel and an
 * abort give up; nothing but the keyboard's own screen instance types into it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { charButton, keyboardRepertoire, keyboardStep, newKeyboard } from '../../display/keyboard.js';
import { askText } from '../../display/keyboard-flow.js';
import { KEYS_240x240, TOUCH_800x480 } from '../../display/layout.js';
import type { KeyboardContent } from '../../display/screen-types.js';
import { clearValue, pressButtonKey, tapKey, typeOnKeys, typeOnTouch } from '../helpers/keyboard-driver.js';
import { simUi } from './helpers.js';

const REPERTOIRE = [...keyboardRepertoire({ charset: 'name' })];

function ask(layout = TOUCH_800x480, check: (v: string) => string | null = () => null, signal?: AbortSignal) {
  const s = simUi({ layout });
  const answer = askText(s.ui, {
    title: 'Name this contact',
    initial: 'pad-amber',
    hint: 'hint',
    submit: 'Save',
    maxLength: 64,
    check,
    ...(signal ? { signal } : {}),
  });
  return { ...s, answer };
}

const value = (s: ReturnType<typeof ask>) => (s.ui.state?.id === 'keyboard' ? s.ui.state.value : null);

describe('the keyboard screen', () => {
  it('starts with the suggestion, and Save gives it back as is', async () => {
    const s = ask();
    expect(s.ui.state?.id).toBe('keyboard');
    expect(s.text('value.0')).toBe('pad-amber');
    expect(s.text('count')).toBe('9/64');
    tapKey(s.ui, s.input, 'submit');
    expect(await s.answer).toBe('pad-amber');
  });

  for (const layout of [TOUCH_800x480, KEYS_240x240]) {
    it(`${layout.id}: any text of the repertoire comes out exactly as typed (property)`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom(...REPERTOIRE), { minLength: 1, maxLength: layout.input === 'touch' ? 24 : 8 }),
          async (chars) => {
            const want = chars.join('');
            const s = ask(layout);
            clearValue(s.ui, s.input);
            expect(value(s)).toBe('');
            if (layout.input === 'touch') typeOnTouch(s.ui, s.input, want);
            else typeOnKeys(s.ui, s.input, want);
            expect(value(s)).toBe(want);
            if (layout.input === 'touch') tapKey(s.ui, s.input, 'submit');
            else pressButtonKey(s.ui, s.input, 'submit');
            expect(await s.answer).toBe(want);
          },
        ),
        { numRuns: layout.input === 'touch' ? 12 : 5 },
      );
    }, 120_000);
  }

  it('the value is drawn whole: a 64-character name wraps on both layouts, spaces shown as ␣', () => {
    const long = 'Alexandra Montgomery-Fitzgerald of the Northern Isles 12345678';
    for (const layout of [TOUCH_800x480, KEYS_240x240]) {
      const s = ask(layout);
      clearValue(s.ui, s.input);
      // Typed on touch; on the picker (slow to type 62 characters) the same value is set as the state.
      if (layout.input === 'touch') typeOnTouch(s.ui, s.input, long);
      else s.ui.update(s.ui.instance, { ...(s.ui.state as KeyboardContent), value: long });
      const lines = s.ui
        .debugLayout()!
        .texts.filter((t) => t.id.startsWith('value.'))
        .map((t) => t.text);
      expect(lines.length).toBeGreaterThan(1);
      expect(lines.join('')).toBe(long.replaceAll(' ', '\u2423'));
      for (const t of s.ui.debugLayout()!.texts) expect(t.text.includes('…')).toBe(false);
    }
  }, 60_000);

  it('a refused value stays on screen with the reason; an edit clears the reason', async () => {
    const s = ask(TOUCH_800x480, (v) => (v === 'bob' ? 'looks like b0b, already a contact' : null));
    clearValue(s.ui, s.input);
    typeOnTouch(s.ui, s.input, 'bob');
    tapKey(s.ui, s.input, 'submit');
    expect(s.ui.state?.id).toBe('keyboard');
    expect(s.text('error.0')).toBe('looks like b0b, already a contact');
    typeOnTouch(s.ui, s.input, 'by');
    expect(s.text('error.0')).toBeUndefined();
    tapKey(s.ui, s.input, 'submit');
    expect(await s.answer).toBe('bobby');
  });

  it('Cancel and an abort give up with null; the limit and the repertoire hold', async () => {
    const s = ask(KEYS_240x240);
    pressButtonKey(s.ui, s.input, 'cancel');
    expect(await s.answer).toBeNull();
    const ac = new AbortController();
    const t = ask(TOUCH_800x480, () => null, ac.signal);
    ac.abort();
    expect(await t.answer).toBeNull();
    let k = newKeyboard({ title: 't', submit: 'Save', hint: '', maxLength: 3 });
    for (const b of [charButton('a'), charButton('b'), charButton('c'), charButton('d'), charButton('\u0430')]) {
      const step = keyboardStep(k, b);
      if (step.kind === 'edit') k = step.content;
    }
    expect(k.value).toBe('abc');
    const one = keyboardStep({ ...k, value: '' }, charButton('\u0430'));
    expect(one.kind === 'edit' && one.content.value).toBe('');
  });

  it('only the keyboard screen instance it showed types into it', async () => {
    const s = ask();
    const first = s.answer;
    let firstDone = false;
    void first.then(() => {
      firstDone = true;
    });
    // A second question on the same UI: keys now type into it only, and its Save answers it only.
    const second = askText(s.ui, {
      title: 'Again',
      initial: '',
      hint: '',
      submit: 'Save',
      maxLength: 64,
      check: () => null,
    });
    typeOnTouch(s.ui, s.input, 'zed');
    tapKey(s.ui, s.input, 'submit');
    expect(await second).toBe('zed');
    await new Promise((r) => setImmediate(r));
    expect(firstDone).toBe(false);
  });
});
