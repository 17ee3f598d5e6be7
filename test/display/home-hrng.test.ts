/**
 * The home screen names a failing HRNG source (from the filler's latch): drawn in the pool line's place, in
 * the alarm colour, on both layouts; the pixels differ from a healthy screen and between two failing sources.
 */
import { describe, expect, it } from 'vitest';
import { LAYOUTS } from '../../display/layout.js';
import type { ScreenState } from '../../display/screen-types.js';
import { render } from '../../display/screens/index.js';
import { stateOf } from './states.js';

type Home = Extract<ScreenState, { id: 'home' }>;
const home = (hrng: Home['hrng']) => ({ id: 'home' as const, contacts: [], hrng, warnings: [] });
const differ = (a: Uint8ClampedArray | Uint8Array, b: Uint8ClampedArray | Uint8Array) =>
  a.length === b.length && a.some((v, i) => v !== b[i]);

describe('home screen: a failing HRNG source', () => {
  for (const layout of Object.values(LAYOUTS)) {
    it(`names the source and the test (${layout.input})`, () => {
      const ok = render(
        stateOf({ name: 'h', content: home({ healthy: true, poolBytes: 0, poolCapacity: 1 }) }),
        layout,
      );
      const failed = (failing?: string) =>
        render(
          stateOf({
            name: 'h',
            content: home({ healthy: false, poolBytes: 0, poolCapacity: 1, ...(failing ? { failing } : {}) }),
          }),
          layout,
        );
      const a = failed('truerng: periodic');
      const b = failed('hwrng: fips-rate');
      const plain = failed();
      expect(a.texts.find((t) => t.id === 'hrng.failing')?.text).toBe('truerng: periodic');
      expect(a.texts.find((t) => t.id === 'hrng.health')?.text).toBe('HRNG FAILED');
      expect(plain.texts.some((t) => t.id === 'hrng.failing')).toBe(false);
      expect(differ(a.pixels, b.pixels)).toBe(true);
      expect(differ(a.pixels, plain.pixels)).toBe(true);
      expect(differ(a.pixels, ok.pixels)).toBe(true);
    });
  }
});
