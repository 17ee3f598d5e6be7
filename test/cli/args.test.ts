/**
 * device/cli/args.ts: node:util parseArgs against each command's declared options. Unknown options, missing
 * values and values given to switches are refused with INVALID_ARGUMENT naming the option; what the hand-written
 * parser it replaced accepted is still read the same way.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flag, type OptionSpecs, option, parseArgs, sizeOption, stringOption } from '../../device/cli/args.js';
import { OnepadError } from '../../device/errors.js';

const SPECS = {
  dir: option('DIR', 'a dir'),
  to: option('NAME', 'a contact'),
  a: option('DIR', 'one letter long name'),
  json: flag('a switch'),
} satisfies OptionSpecs;

function refusal(argv: string[], specs: OptionSpecs = SPECS): OnepadError {
  try {
    parseArgs(argv, specs);
  } catch (e) {
    expect(e).toBeInstanceOf(OnepadError);
    return e as OnepadError;
  }
  throw new Error(`accepted ${JSON.stringify(argv)}`);
}

describe('parseArgs', () => {
  it('reads --opt value, --opt=value, switches and positionals', () => {
    const r = parseArgs(['--dir', 'd', 'one', '--to=bob', '--json', 'two', '--a', 'x'], SPECS);
    expect(Object.fromEntries(r.options)).toEqual({ dir: 'd', to: 'bob', json: true, a: 'x' });
    expect(r.positionals).toEqual(['one', 'two']);
  });

  it('keeps what the old parser did: the next argument is the value even if it looks like an option', () => {
    expect(Object.fromEntries(parseArgs(['--dir', '--to'], SPECS).options)).toEqual({ dir: '--to' });
    expect(Object.fromEntries(parseArgs(['--dir', '-x'], SPECS).options)).toEqual({ dir: '-x' });
    expect(Object.fromEntries(parseArgs(['--dir='], SPECS).options)).toEqual({ dir: '' });
    expect(parseArgs(['--dir', 'a', '--dir', 'b'], SPECS).options.get('dir')).toBe('b');
  });

  it('takes everything after -- as positionals, and a lone - as one', () => {
    const r = parseArgs(['--json', '-', '--', '--dir', '-x', '--bogus'], SPECS);
    expect(Object.fromEntries(r.options)).toEqual({ json: true });
    expect(r.positionals).toEqual(['-', '--dir', '-x', '--bogus']);
  });

  it('refuses an unknown option with INVALID_ARGUMENT naming it', () => {
    const e = refusal(['--dir', 'd', '--bogus', 'x']);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.details).toEqual({ option: 'bogus' });
    expect(e.message).toContain('unknown option --bogus');
  });

  it('refuses short options and names inherited from Object.prototype', () => {
    for (const argv of [
      ['-x'],
      ['-5'],
      ['-abc'],
      ['--__proto__'],
      ['--constructor'],
      ['--toString=1'],
      ['--hasOwnProperty', 'x'],
    ]) {
      expect(refusal(argv).code, argv.join(' ')).toBe('INVALID_ARGUMENT');
    }
  });

  it('refuses a string option without its value, and a switch with one', () => {
    expect(refusal(['--dir']).details).toEqual({ option: 'dir' });
    expect(refusal(['x', '--to']).message).toContain('--to needs a value');
    expect(refusal(['--json=1']).message).toContain('--json takes no value');
    expect(refusal(['--json=']).details).toEqual({ option: 'json' });
  });

  it('accepts exactly the declared options, for any declaration and any order (property)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);
    const value = fc.string({ maxLength: 8 }).filter((v) => !v.startsWith('-'));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, fc.boolean()), { selector: ([n]) => n, minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(), value, fc.boolean()), { maxLength: 10 }),
        fc.array(value, { maxLength: 3 }),
        (declared, uses, tail) => {
          const specs: Record<string, ReturnType<typeof option>> = {};
          for (const [n, isSwitch] of declared) specs[n] = isSwitch ? flag('s') : option('V', 'v');
          const argv: string[] = [];
          const expected = new Map<string, string | true>();
          for (const [i, v, inline] of uses) {
            const [n, isSwitch] = declared[i % declared.length] as [string, boolean];
            if (isSwitch) {
              argv.push(`--${n}`);
              expected.set(n, true);
            } else {
              argv.push(...(inline ? [`--${n}=${v}`] : [`--${n}`, v]));
              expected.set(n, v);
            }
          }
          argv.push('--', ...tail);
          const r = parseArgs(argv, specs);
          expect(Object.fromEntries(r.options)).toEqual(Object.fromEntries(expected));
          expect(r.positionals).toEqual(tail);
          const undeclared = `${declared.map(([n]) => n).join('')}x`;
          expect(() => parseArgs([`--${undeclared}`], specs)).toThrow(OnepadError);
        },
      ),
    );
  });
});

describe('stringOption and sizeOption', () => {
  it('read values, fall back, and say which option is missing or bad', () => {
    const r = parseArgs(['--dir', '64k', '--to', '12x'], SPECS);
    expect(stringOption(r, 'dir')).toBe('64k');
    expect(stringOption(r, 'a', 'fallback')).toBe('fallback');
    expect(sizeOption(r, 'dir')).toBe(65536);
    expect(sizeOption(r, 'a', 7)).toBe(7);
    for (const f of [() => stringOption(r, 'a'), () => sizeOption(r, 'to'), () => sizeOption(r, 'a')]) {
      expect(f).toThrow(OnepadError);
    }
  });
});
