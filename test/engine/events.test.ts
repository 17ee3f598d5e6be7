/**
 * The event log keeps security evidence apart from junk: a flood that anyone can send (malformed packages, unknown
 * pads) is counted, not stored one by one, and a flood of one stored kind evicts only older events of that kind.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../../device/events.js';
import { makePair, utf8 } from '../helpers/engine-fixture.js';

describe('event log', () => {
  it('a junk flood from the relay is counted and never evicts a GAP or a MAC failure', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'onepad-ev-')), 'events.db');
    let t = 0;
    const log = new EventLog(path, 100, () => ++t);
    log.record('GAP', 'aa', { start: 1, end: 2 });
    log.record('MAC_FAILURE', 'aa', { index: 3, start: 10, length: 5 });
    for (let i = 0; i < 5000; i++) log.record('MALFORMED', null, { code: 'MALFORMED' });
    for (let i = 0; i < 3000; i++) log.record('UNKNOWN_PAD', null, {});
    // 1000 forgeries: they are evidence, but only evict older MAC failures.
    for (let i = 0; i < 1000; i++) log.record('MAC_FAILURE', 'aa', { index: 4, start: 20, length: 5 });
    expect(log.recent(10, ['GAP'])).toHaveLength(1);
    expect(log.recent(1000, ['MAC_FAILURE']).length).toBeLessThanOrEqual(200);
    expect(log.recent(1000, ['MAC_FAILURE']).length).toBeGreaterThanOrEqual(100);
    expect(log.recent(10, ['MALFORMED'])).toHaveLength(0);
    expect(log.total('MALFORMED')).toBe(5000);
    expect(log.total('UNKNOWN_PAD')).toBe(3000);
    expect(log.total('MAC_FAILURE')).toBe(1001);
    expect(log.total('GAP')).toBe(1);
    const junk = log.counts().find((c) => c.kind === 'MALFORMED');
    expect(junk).toMatchObject({ reason: 'MALFORMED', count: 5000, padId: null });
    expect(junk!.lastTime).toBeGreaterThan(junk!.firstTime);
    log.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('through the engine: junk packages are counted, a later GAP is still there', async () => {
    const pair = makePair(4096);
    try {
      const a = pair.openA();
      const b = pair.openB();
      const m1 = await a.package('bob', utf8('one'));
      await a.package('bob', utf8('lost'));
      const m3 = await a.package('bob', utf8('three'));
      await b.unpackage(m1.package);
      await b.unpackage(m3.package);
      for (let i = 0; i < 300; i++) await b.unpackage(new Uint8Array(60).fill(2)).catch(() => {});
      expect(b.events.recent(10, ['GAP'])).toHaveLength(1);
      expect(b.events.total('MALFORMED')).toBe(300);
    } finally {
      pair.cleanup();
    }
  });
});
