import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatEvent, visible } from '../../client/format.js';
import { CLASSES } from '../display/adversarial.js';

const message = (text: string) =>
  formatEvent({
    type: 'message',
    ref: 1,
    from: 'bob',
    text,
    length: text.length,
    time: 0,
    insecure: false,
    shownOnDeviceOnly: false,
  });

/** What a terminal must never receive from a contact's text (checked with the JavaScript engine's own data). */
const DANGEROUS =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: the class lists single code points on purpose
  /[\u0000-\u001f\u007f-\u009f\u00a0\u00ad\u034f\u061c\u115f\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\u{e0000}-\u{e0fff}]|\p{Default_Ignorable_Code_Point}|(?=\p{L})(?:\p{sc=Hebrew}|\p{sc=Arabic}|\p{sc=Syriac}|\p{sc=Thaana}|\p{sc=Nko}|\p{sc=Adlam})/u;

describe('chat text in the terminal: as safe as the device screen', () => {
  it('escapes escape sequences, newlines, bidi controls, default-ignorables, odd spaces and RTL letters', () => {
    expect(message('\u001b[2J\u001b]0;pwned\u0007hi')).toBe('[00:00:00] bob: \\u{1b}[2J\\u{1b}]0;pwned\\u{7}hi');
    expect(visible('line1\n[12:00:00] alice: fake')).toBe('line1\\u{a}[12:00:00] alice: fake');
    expect(visible('pay \u202egnp.exe\u2066x\u2069')).toBe('pay \\u{202e}gnp.exe\\u{2066}x\\u{2069}');
    expect(visible('PIN ו 1 2 3 4 ו')).toBe('PIN \\u{5d5} 1 2 3 4 \\u{5d5}');
    expect(visible('hello bob\u{e0070}\u{e0061}')).toBe('hello bob\\u{e0070}\\u{e0061}');
    expect(visible('ok\ufe0f x\u00ady\u200bz\u034f\u180e')).toBe('ok\\u{fe0f} x\\u{ad}y\\u{200b}z\\u{34f}\\u{180e}');
    expect(visible('a\u00a0b\tc')).toBe('a\\u{a0}b\\u{9}c');
  });

  it('lets one combining mark sit on a base; the rest of a stack, and marks on nothing, are escaped', () => {
    expect(visible('q\u0301')).toBe('q\u0301');
    expect(visible('q\u0301\u0301\u0301')).toBe('q\u0301\\u{301}\\u{301}');
    expect(visible('\u0301a \u0301')).toBe('\\u{301}a \\u{301}');
  });

  it('keeps ordinary text of any script as it is', () => {
    for (const t of ['hello, world', 'Grüße aus Köln', 'привет', '同意', '👍', 'αβγ']) expect(visible(t)).toBe(t);
  });

  it('no dangerous code point ever reaches the terminal (property, adversarial classes and every plane)', () => {
    const any = fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(any, ...Object.values(CLASSES).map((c) => fc.constantFrom(...c))), { maxLength: 40 }),
        (parts) => {
          const out = visible(parts.join(''));
          expect(DANGEROUS.test(out), JSON.stringify(out)).toBe(false);
          expect(/\p{Cs}|\p{Co}|\p{Cn}|\p{Cf}|\p{Cc}/u.test(out)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
