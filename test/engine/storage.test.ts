import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STORAGE_RESERVE_BYTES, storagePlan, storageReserve } from '../../device/storage.js';
import { runTs } from '../helpers/child.js';

const root = mkdtempSync(join(tmpdir(), 'onepad-storage-'));

describe('storage plan (statfs)', () => {
  it('a pool and a pad that fit side by side in the free space, less a reserve; the fill time at a rate', () => {
    const st = statfsSync(root);
    const plan = storagePlan(root, 5 << 20, 2_000_000);
    expect(plan.free).toBe(st.bavail * st.bsize);
    expect(plan.size).toBe(st.blocks * st.bsize);
    // Pool and pad, both of the largest size, fit at once in free space plus the pool file already there, with
    // two reserves kept (one for good, one for the ledger's growth while the pool fills).
    const reserve = storageReserve(plan.size);
    expect(reserve).toBe(STORAGE_RESERVE_BYTES); // this disk is over 20 GiB
    expect(2 * plan.largestPad + 2 * reserve).toBeLessThanOrEqual(plan.free + (5 << 20));
    expect(2 * (plan.largestPad + 1) + 2 * reserve).toBeGreaterThan(plan.free + (5 << 20));
    expect(plan.fillSeconds).toBeCloseTo(plan.largestPool / 2_000_000);
    expect(storagePlan(root).fillSeconds).toBeNull();
  });

  it('the CLI tells the owner the largest pool and pad and how long the pool takes to fill', () => {
    const r = runTs('device/service/main.ts', ['pad', 'storage', '--dir', join(root, 'd'), '--rate', '1M']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^free .* of .*\nlargest pool .*\nlargest pad .*\nthe pool fills in .* at 1\.0 MB\/s\n$/);
    rmSync(root, { recursive: true, force: true });
  });
});
