import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERRORS, errorCodes } from '../../device/errors.js';
import { EVENT_KINDS } from '../../device/events.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/errors.md', import.meta.url)), 'utf8');
const HRNG_CODES = errorCodes().filter((c) => c.startsWith('HRNG_') || c.startsWith('POOL_'));
const HRNG_EVENTS = EVENT_KINDS.filter((k) => k.startsWith('HRNG_') || k.startsWith('POOL_'));

describe('hardware RNG codes and events are documented', () => {
  it('every HRNG/POOL code has a row with its status in the Hardware RNG section', () => {
    const section = doc.slice(doc.indexOf('## Hardware RNG'), doc.indexOf('## Events'));
    expect(HRNG_CODES.length).toBe(8);
    for (const code of HRNG_CODES) {
      expect(section).toMatch(new RegExp(`\\| \`${code}\` +\\| ${ERRORS[code].status} +\\|`));
    }
  });

  it('every HRNG/POOL event kind has a row in the Events table', () => {
    const events = doc.slice(doc.indexOf('## Events'));
    expect(HRNG_EVENTS.length).toBe(5);
    for (const kind of HRNG_EVENTS) expect(events).toMatch(new RegExp(`\\| \`${kind}\` +\\|`));
  });
});
