import { describe, expect, it } from 'vitest';
import { runSetup } from '../../display/setup-flow.js';
import { simUi } from './helpers.js';

describe('first-boot setup on the screen', () => {
  it('Another proposes a different word; only a hold on Keep keeps it; name first, then the word', async () => {
    const s = simUi();
    let i = 0;
    const done = runSetup(s.ui, ['otter', 'lantern', 'heron'], { pick: () => i++ % 3 });
    expect(s.ui.debugLayout()?.screen).toBe('setup');
    expect(s.text('value')).toBe('pad-otter');
    s.tap('another');
    expect(s.text('value')).toBe('pad-lantern');
    s.tap('keep'); // a tap is not enough
    expect(s.text('title')).toBe('Name this device');
    s.hold('keep', 1200);
    expect(s.text('title')).toBe('Choose your word');
    const word = s.text('value');
    s.tap('another');
    expect(s.text('value')).not.toBe(word);
    const chosen = s.text('value');
    s.hold('keep', 1200);
    expect(await done).toEqual({ name: 'pad-lantern', ownerWord: chosen });
  });

  it('a stop during setup resolves null and keeps nothing; a later hold on Keep does nothing', async () => {
    const s = simUi();
    const ac = new AbortController();
    const done = runSetup(s.ui, ['otter', 'lantern'], { pick: () => 0, signal: ac.signal });
    s.hold('keep', 1200);
    expect(s.text('title')).toBe('Choose your word');
    ac.abort();
    expect(await done).toBeNull();
    s.hold('keep', 1200); // the setup no longer listens: the step stays
    expect(s.text('title')).toBe('Choose your word');
    expect(await runSetup(s.ui, ['otter'], { signal: ac.signal })).toBeNull();
  });
});
