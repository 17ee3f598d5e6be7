/**
 * Contact names the owner gives on the device, and the rule that keeps two of them from looking alike.
 * Look-alike is decided by TR39 confusable skeletons (device/lookalike.ts).
 */
import { isValidContactName } from './engine.js';
import { looksAlike } from './lookalike.js';

/** Longest contact name, in characters (the engine's limit). */
export const CONTACT_NAME_MAX = 64;

/** Why a name cannot be a new contact's, or null when it can. */
export type ContactNameProblem =
  | { readonly reason: 'invalid'; readonly text: string }
  | { readonly reason: 'taken'; readonly other: string }
  | { readonly reason: 'lookalike'; readonly other: string };

/**
 * Check a name the owner typed for a new contact against the names already in use.
 * @param name - the name typed
 * @param existing - the contact names of every pad that is not retired
 * @param allowSame - a name already in use is allowed as is (re-pairing a contact whose pad is used up)
 */
export function contactNameProblem(
  name: string,
  existing: readonly string[],
  allowSame: (other: string) => boolean = () => false,
): ContactNameProblem | null {
  if (!isValidContactName(name)) {
    return { reason: 'invalid', text: 'use 1-64 letters, digits, space or . _ @ - (first a letter or digit)' };
  }
  if (name.trim() !== name || name.includes('  ')) {
    return { reason: 'invalid', text: 'no space at the end and no two spaces in a row' };
  }
  for (const other of existing) {
    if (other === name) {
      if (allowSame(other)) continue;
      return { reason: 'taken', other };
    }
    if (looksAlike(name, other)) return { reason: 'lookalike', other };
  }
  return null;
}

/** A short line for the screen about a problem (names only; they are not secret). */
export function describeNameProblem(p: ContactNameProblem): string {
  if (p.reason === 'invalid') return p.text;
  if (p.reason === 'taken') return `${p.other} is already a contact`;
  return `looks like ${p.other}, already a contact`;
}
