import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleepUnlessAborted } from '../../device/sleep.js';

describe('sleepUnlessAborted', () => {
  it('leaves no abort listener behind after sleeping, however often', async () => {
    const ac = new AbortController();
    for (let i = 0; i < 50; i++) await sleepUnlessAborted(0, ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('ends early when the signal aborts, and at once when it already has', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = sleepUnlessAborted(10_000, ac.signal);
    ac.abort();
    await p;
    await sleepUnlessAborted(10_000, ac.signal);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
