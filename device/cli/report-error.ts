/**
 * How a command reports a failure: `onepad: CODE: message`, plus the error's non-secret details, on stderr.
 */
import type { Writable } from 'node:stream';
import { isOnepadError } from '../errors.js';

/**
 * Print `e` for the user and return the exit code: 64 for a usage error (INVALID_ARGUMENT), 2 for any other.
 * Anything that is not an OnepadError prints only `INTERNAL` (its text may hold anything).
 */
export function reportError(stderr: Writable, e: unknown): number {
  if (isOnepadError(e)) {
    const details = Object.entries(e.details)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    stderr.write(`onepad: ${e.code}: ${e.message}${details ? ` (${details})` : ''}\n`);
    return e.code === 'INVALID_ARGUMENT' ? 64 : 2;
  }
  stderr.write('onepad: INTERNAL: unexpected failure\n');
  return 2;
}
