import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GlobalFonts } from '@napi-rs/canvas';
import { FONT_SHA256 } from './unicode/tables.js';

/**
 * The only fonts screens draw with: DejaVu Sans and DejaVu Sans Mono, shipped in display/fonts (Bitstream Vera
 * license, see LICENSE-DejaVu.txt) and registered under names no system font has, so pixels (and their hashes)
 * do not depend on what fonts a machine happens to have.
 */
export const SANS = 'OnepadSans';
export const MONO = 'OnepadMono';

let registered = false;

/**
 * Register the shipped fonts with the canvas (idempotent). DejaVu Sans must be the very file the display
 * repertoire (display/unicode/tables.ts) was made from: the repertoire promises a real glyph for each of its
 * code points in that file.
 * @throws Error when a font file is missing from display/fonts, or DejaVuSans.ttf is not the one the tables
 *   were made from (run `npm run unicode-tables`)
 */
export function registerFonts(): void {
  if (registered) return;
  const sans = fileURLToPath(new URL('./fonts/DejaVuSans.ttf', import.meta.url));
  if (createHash('sha256').update(readFileSync(sans)).digest('hex') !== FONT_SHA256) {
    throw new Error('DejaVuSans.ttf is not the font the display repertoire was made from');
  }
  registerFontFiles();
  registered = true;
}

/**
 * Register the font files without checking them against the tables (for the tables' generator only, which
 * draws with the font it is making the tables from); later calls of registerFonts() then check nothing.
 * @throws Error when a font file is missing from display/fonts
 */
export function registerFontFiles(): void {
  for (const [file, alias] of [
    ['DejaVuSans.ttf', SANS],
    ['DejaVuSansMono.ttf', MONO],
  ] as const) {
    if (GlobalFonts.has(alias)) continue;
    const path = fileURLToPath(new URL(`./fonts/${file}`, import.meta.url));
    if (!GlobalFonts.registerFromPath(path, alias) || !GlobalFonts.has(alias)) {
      throw new Error(`cannot register font ${file}`);
    }
  }
  registered = true;
}
