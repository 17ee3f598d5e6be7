/**
 * Adversarial text for the faithful-screen tests: the attacks of issue 12 and random code points from every
 * plane, and pairs of distinct messages of equal UTF-8 length built from them.
 */
import fc from 'fast-check';

export const utf8Length = (s: string) => new TextEncoder().encode(s).length;

const tags = (s: string) => Array.from(s, (c) => String.fromCodePoint(0xe0000 + (c.codePointAt(0) ?? 0))).join('');

/** Characters an attacker would reach for, by class. */
export const CLASSES: Readonly<Record<string, readonly string[]>> = {
  ascii: ['a', 'b', 'l', 'I', '1', '0', 'O', 'p', 'x', '.', '-', '?', ' ', ' ', '\n'],
  invisible: [
    '\u00ad', // soft hyphen
    '\u034f', // combining grapheme joiner
    '\u180e', // Mongolian vowel separator
    '\u200b',
    '\u200c',
    '\u200d',
    '\u200e',
    '\u200f',
    '\u2060',
    '\u2061',
    '\u2064',
    '\ufeff',
    '\u061c',
    '\u115f',
    '\u3164',
    '\uffa0',
    '\ufe00',
    '\ufe0f',
    '\u{e0100}',
    '\u{e01ef}',
    '\u{e0001}',
    '\u{e0041}',
    '\u{e007f}',
  ],
  bidi: ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', 'ו', 'א', 'ש'],
  whitespace: [
    '\t',
    '\r',
    '\u00a0',
    '\u2000',
    '\u2002',
    '\u2007',
    '\u2009',
    '\u200a',
    '\u202f',
    '\u205f',
    '\u3000',
    '\u2028',
    '\u2029',
    '\u0085',
    '\u000b',
    '\u000c',
  ],
  lookalike: [
    'а',
    'е',
    'о',
    'р',
    'с',
    'у',
    'х',
    'і',
    'ο',
    'α',
    'ν',
    'Α',
    'Β',
    'ı',
    'ǀ',
    'Ӏ',
    '\u2010',
    '\u2212',
    '\u0110',
    '\u00d0',
    'ꓲ',
  ],
  twins: ['\u212b', '\u2126', '\u212a', '\u2026', '\ufb01', '\u00b5', '\u037e', '\u0387', 'Å', 'é'],
  marks: ['\u0301', '\u0300', '\u0323', '\u0307', '\u0338', '\u20dd', '\u05b8', '\u0489', '\u0f71'],
  pictures: ['👍', '👎', '同', '意', '反', '对', '😀', '🏳️‍🌈', '\u{1f1fa}\u{1f1f8}'],
  // Letters whose accents reach high (cut by a clip at the top of the panel), letters with their own strokes,
  // tails or dots where a mark lands, Hebrew letters a point can fall outside of, and the marks that do it.
  crowded: [
    'Ä',
    'Ǟ',
    'Ȧ',
    'Ǡ',
    'Â',
    'Ẫ',
    'Ǘ',
    'Ǖ',
    'Ṧ',
    'ɀ',
    'ϼ',
    'ұ',
    'ḥ',
    '₮',
    'ו',
    'ן',
    'ײ',
    '\u0318',
    '\u0319',
    '\u031f',
    '\u05c1',
    '\u05bc',
    '\u0361',
    '\u0487',
  ],
  // Look-alikes within one script and across scripts the repertoire draws.
  alike: ['l', 'I', '1', 'O', '0', 'ο', 'o', 'ό', 'ó', 'µ', 'μ', 'ו', 'ן', 'ס', 'ם', 'ח', 'ה', 'ר', 'ד', 'ѕ', 's'],
};

/** Whole attack strings, each with an equal-length twin that must look different. */
export const TWIN_PAIRS: readonly (readonly [string, string])[] = [
  [`hello bob${tags('pay eve 1000')}`, `hello bob${tags('pay bob 0001')}`],
  ['👍', '👎'],
  ['同意', '反对'],
  ['PIN ו 1 2 3 4 ו', 'PIN ו 4 3 2 1 ו'],
  ['\u212b', 'A\u030a'],
  ['\u2026', '...'],
  ['a\u0323\u0301', 'a\u0301\u0323'],
  ['q\u0301\u0300', 'q\u0300\u0301'],
  ['рa', 'pа'],
  ['рор xyx', 'pop хух'],
  ['a\u00a0b', 'a  b'],
  ['a\tb', 'a b'],
  ['a \n', 'a\n '],
  ['aaaa bbbb', 'aaaa\nbbbb'],
  ['-\u2010', '\u2010-'],
  ['x\u00ady', 'x\u034fy'],
  ['ok\ufe0f', 'ok\u200d'],
  ['Z\u0301\u0301\u0301', 'Z\u0301\u0300\u0301'],
  // Found by attacking the renderer (test/display/cell-collisions.test.ts checks every cell): the macron of Ǟ
  // and the dot of Ǡ were cut by the panel's clip on the first line of 240x240; a mark on a letter's own
  // stroke, tail or dot was hidden by the letter drawn over it; a Hebrew point outside its letter was covered.
  ['Ä', 'Ǟ'],
  ['Ȧ', 'Ǡ'],
  ['Äb', 'Ǟb'],
  ['ḥ\u0319', 'ḥ\u031f'],
  ['ɀ\u0318', 'ɀ\u031f'],
  ['ϼ\u0319', 'ϼ\u031f'],
  ['ұ\u0318', 'ұ\u0319'],
  ['₮\u0304', '₮\u05b9'],
  ['\u05d5\u05c1\u05df', '\u05d5\u05df\u05bc'],
  ['ײ\u05bc', 'ײ\u05c1'],
  ['a\u0361\t', 'a\u035d\t'],
  // Look-alikes within a script and across the scripts drawn, in words of one script.
  ['lIl', 'IlI'],
  ['I1', '1I'],
  ['cómo', 'cόmo'],
  ['λόγος', 'λóγος'],
  ['µ', 'μ'],
  ['שלום', 'שלוס'],
  ['ון', 'ןו'],
  ['חרד', 'הדר'],
  // Wrapping and page breaks: a break inside a word, at a space, at a newline, at the end of a page.
  [`${'x'.repeat(40)}y`, `${'x'.repeat(20)} ${'x'.repeat(19)}y`],
  [`${'\n'.repeat(12)}a`, `${'\n'.repeat(11)}a\n`],
  [`${'ab '.repeat(30)}`, `${'ab '.repeat(29)}a b`],
];

/** One code point from anywhere: a random plane, a random offset (surrogates excluded). */
export const anyCodePoint = fc
  .tuple(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 0xffff }))
  .map(([plane, off]) => plane * 0x10000 + off)
  .filter((cp) => cp < 0xd800 || cp > 0xdfff)
  .map((cp) => String.fromCodePoint(cp));

/** A piece of a message: a character of some class, a code point from anywhere, or a run of ASCII. */
export const token = fc.oneof(
  ...Object.values(CLASSES).map((c) => fc.constantFrom(...c)),
  anyCodePoint,
  fc.string({ unit: fc.constantFrom('a', 'e', 'p', 'o', ' '), minLength: 1, maxLength: 12 }),
);

/** A random code point with the same UTF-8 length as `ch` (from the classes when one fits, else anywhere). */
function sameLength(ch: string, seed: number): string {
  const n = utf8Length(ch);
  const pool = Object.values(CLASSES)
    .flat()
    .filter((c) => utf8Length(c) === n && c !== ch);
  const ranges: Record<number, [number, number]> = {
    1: [0, 0x7f],
    2: [0x80, 0x7ff],
    3: [0x800, 0xffff],
    4: [0x10000, 0x10ffff],
  };
  if (pool.length > 0 && seed % 2 === 0) return pool[seed % pool.length]!;
  const [lo, hi] = ranges[n] ?? [0, 0x7f];
  let cp = lo + (seed % (hi - lo + 1));
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000 + (cp - 0xd800);
  return String.fromCodePoint(cp);
}

/**
 * Pairs of distinct messages of equal UTF-8 length: a message and a copy changed by one move that keeps the
 * length (replace a code point, swap two, reverse a slice, move one elsewhere), or an attack and its twin
 * inside random context.
 */
export const equalLengthPair: fc.Arbitrary<readonly [string, string]> = fc
  .tuple(
    fc.array(token, { minLength: 1, maxLength: 10 }),
    fc.constantFrom('replace', 'swap', 'reverse', 'move', 'twin'),
    fc.nat(),
    fc.nat(),
    fc.nat(),
    fc.array(token, { maxLength: 3 }),
  )
  .map(([tokens, move, i0, j0, seed, suffix]) => {
    const a = tokens.join('');
    const cps = Array.from(a);
    const n = cps.length;
    const i = i0 % n;
    const j = j0 % n;
    const b = [...cps];
    switch (move) {
      case 'replace':
        b[i] = sameLength(cps[i]!, seed);
        break;
      case 'swap':
        [b[i], b[j]] = [cps[j]!, cps[i]!];
        break;
      case 'reverse': {
        const [lo, hi] = i < j ? [i, j] : [j, i];
        b.splice(lo, hi - lo + 1, ...cps.slice(lo, hi + 1).reverse());
        break;
      }
      case 'move': {
        const [c] = b.splice(i, 1);
        b.splice(j, 0, c!);
        break;
      }
      case 'twin': {
        const [x, y] = TWIN_PAIRS[seed % TWIN_PAIRS.length]!;
        const tail = suffix.join('');
        const head = cps.slice(0, i).join('');
        return [`${head}${x}${tail}`, `${head}${y}${tail}`] as const;
      }
    }
    return [a, b.join('')] as const;
  })
  .filter(([a, b]) => a !== b && utf8Length(a) === utf8Length(b));
