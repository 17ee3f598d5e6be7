/**
 * vitest global setup (vitest.config.ts): before any test file runs, the Debian packages the tests need are
 * installed, or the run stops at once saying the single command to run (test/setup/debian-packages.ts).
 */
import { fileURLToPath } from 'node:url';
import { APT_PACKAGES_FILE, ensureDebianPackages } from './debian-packages.js';

export default function setup(): void {
  ensureDebianPackages(fileURLToPath(new URL(`../../${APT_PACKAGES_FILE}`, import.meta.url)));
}
