import { fileURLToPath } from 'node:url';
import { GlobalFonts } from '@napi-rs/canvas';

/**
 * The only fonts screens draw with: DejaVu Sans and DejaVu Sans Mono, shipped in display/fonts (Bitstream Vera
 * license, see LICENSE-DejaVu.txt) and registered under names no system font has, so pixels (and their hashes)
 * do not depend on what fonts a machine happens to have.
 */
export const SANS = 'OnepadSans';
export const MONO = 'OnepadMono';

let registered = false;

/**
 * Register the shipped fonts with the canvas (idempotent).
 * @throws Error when a font file is missing from display/fonts
 */
export function registerFonts(): void {
  if (registered) return;
  for (const [file, alias] of [
    ['DejaVuSans.ttf', SANS],
    ['DejaVuSansMono.ttf', MONO],
  ] as const) {
    const path = fileURLToPath(new URL(`./fonts/${file}`, import.meta.url));
    if (!GlobalFonts.registerFromPath(path, alias) || !GlobalFonts.has(alias)) {
      throw new Error(`cannot register font ${file}`);
    }
  }
  registered = true;
}
