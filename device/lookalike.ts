/**
 * Whether two contact names look alike, by Unicode TR39 confusable skeletons.
 *
 * skeleton(X) = NFD(prototypes(NFD(X))), where each code point is replaced by its prototype from TR39's
 * confusables.txt. The data comes from the `unhomoglyph` package (nodeca; confusables.txt of Unicode 13.0.0), not
 * from a table typed here. TR39 itself keeps case apart, but on a small screen "Bob" and "BOB", or "B0b" and
 * "bob", are the same person to a hurried reader; so two names look alike when they share one of two keys: the
 * skeleton of the lower-cased skeleton ("AIice" → "alice"), and the skeleton of the lower-cased name ("IA" → "ia",
 * where the first key would read the capital I as an l); runs of spaces count as one.
 */
import unhomoglyph from 'unhomoglyph';

/**
 * The TR39 confusable skeleton of `s`.
 * @example skeleton('pаypal') === skeleton('paypal') // Cyrillic а
 */
export function skeleton(s: string): string {
  return unhomoglyph(s.normalize('NFD')).normalize('NFD');
}

/** The keys a contact name is compared by (see the module comment). */
export function lookalikeKeys(name: string): readonly [string, string] {
  const tidy = (k: string) => k.replace(/ +/g, ' ').trim();
  return [tidy(skeleton(skeleton(name).toLowerCase())), tidy(skeleton(name.toLowerCase()))];
}

/** True when two contact names look alike: they share a key (equal names do too). */
export function looksAlike(a: string, b: string): boolean {
  const ka = lookalikeKeys(a);
  const kb = lookalikeKeys(b);
  return ka.some((k) => kb.includes(k));
}
