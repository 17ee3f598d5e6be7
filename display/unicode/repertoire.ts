/**
 * The display repertoire: which code points the trusted screen may draw as themselves. This file holds the
 * choice (blocks and scripts, with the reasons); display/unicode/generate.ts intersects it with the Unicode data
 * and the shipped font's character map to make tables.ts. Everything outside it is drawn as a visible escape.
 *
 * Chosen: the Latin, Greek, Cyrillic and Hebrew scripts, common punctuation, digits, currency and a few math
 * signs, and the combining diacritics: what DejaVu Sans (already shipped) draws with real glyphs, what needs
 * no shaping (each code point is drawn alone, in stored order), and what the owners of a pad device are likely
 * to write. Left out: Arabic and the Indic scripts (they need contextual shaping, which cannot be drawn one
 * code point at a time in stored order), CJK and emoji (no glyphs in DejaVu; a CJK font is ~100 MB and brings
 * thousands of look-alikes to analyse), IPA and other rarely written letters that imitate common ones.
 * Candidates are further kept only when their category is a letter, nonspacing mark, digit, punctuation or
 * symbol; they are not default-ignorable, white space or noncharacters; they are unchanged by NFC and NFKC
 * (so no compatibility twin like `ﬁ`, `…`, `µ`, Kelvin or Ångström sign is drawn); and their glyph is not the
 * same drawing as an earlier code point's of the same tint (so U+2010 hyphen cannot pass for `-`).
 */

/** Inclusive code point ranges considered for the repertoire. */
export const REPERTOIRE_RANGES: readonly (readonly [number, number])[] = [
  [0x0021, 0x007e], // ASCII printable (space is handled apart)
  [0x00a1, 0x00ff], // Latin-1 punctuation and letters
  [0x0100, 0x017f], // Latin Extended-A
  [0x0180, 0x01bf], // Latin Extended-B, without the click letters U+01C0-01C3 (they imitate l, ||, ǂ and !)
  [0x01c4, 0x024f],
  // Combining diacritical marks (at most one per base character, see faithful.ts), without the overlays
  // U+0334-0338 (drawn across the base's own ink, which then hides them) and the double diacritics
  // U+035C-0362 (they reach over the next character, whose cell may be drawn over them).
  [0x0300, 0x0333],
  [0x0339, 0x035b],
  [0x0363, 0x036f],
  [0x0370, 0x03ff], // Greek
  // Cyrillic, without U+0487 pokrytie (Church Slavonic), whose drawing reaches 0.5 em left of its base, over
  // the character before it.
  [0x0400, 0x0486],
  [0x0488, 0x04ff],
  [0x05b0, 0x05c7], // Hebrew points and punctuation (cantillation marks U+0591-05AF left out)
  [0x05d0, 0x05ea], // Hebrew letters
  [0x05ef, 0x05f4],
  [0x1e00, 0x1eff], // Latin Extended Additional (Vietnamese, Welsh, ...)
  [0x2010, 0x2027], // dashes, quotes, bullets (U+2028/2029 separators are outside)
  [0x2030, 0x205e], // per mille, primes, guillemets, ...
  [0x20a0, 0x20c0], // currency
  [0x2190, 0x2195], // arrows
  [0x2212, 0x2212], // minus
  [0x221e, 0x221e], // infinity
  [0x2248, 0x2248],
  [0x2260, 0x2260],
  [0x2264, 0x2265],
];

/** Scripts (Unicode Script property values) whose characters may be in the repertoire. */
export const REPERTOIRE_SCRIPTS = ['Latin', 'Greek', 'Cyrillic', 'Hebrew', 'Common', 'Inherited'] as const;

/** Tints: letters of scripts that share drawings with Latin are drawn in their own colour. */
export const TINT_LATIN = 0;
export const TINT_GREEK = 1;
export const TINT_CYRILLIC = 2;
export const TINT_HEBREW = 3;
export const TINT_OF_SCRIPT: Readonly<Record<string, number>> = {
  Latin: TINT_LATIN,
  Common: TINT_LATIN,
  Inherited: TINT_LATIN,
  Greek: TINT_GREEK,
  Cyrillic: TINT_CYRILLIC,
  Hebrew: TINT_HEBREW,
};
/** Script names by tint, for the notes on screen. */
export const TINT_NAMES = ['Latin', 'Greek', 'Cyrillic', 'Hebrew'] as const;

/** Flags of a repertoire entry (the low two bits are the tint). */
export const FLAG_LETTER = 4;
export const FLAG_MARK = 8;
export const FLAG_RTL = 16;

/**
 * Characters the renderer draws itself (visible space, newline, wrap, cut, warning sign, escape brackets).
 * They are never in the repertoire, so a message cannot imitate them.
 */
export const MARKER_CHARS = '␣↵↩…⚠⟨⟩';
