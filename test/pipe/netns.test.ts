/**
 * The pipe across network namespaces (test/pipe/netns-world.ts): two laptops, each with its simulated device on a
 * link of its own, an SSH-like interactive stream and a bulk transfer through `onepad pipe -e`/`-d`; then either
 * device killed mid-stream: the stream ends with a clear error, and after a restart a new pipe works with no byte
 * reused (the receiving device would refuse a reused key slot as REPLAY, a reused stream range as OVERLAP).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePair, type Pair } from '../helpers/engine-fixture.js';
import { canUseNetns, type NsProcess } from '../helpers/netns.js';
import { client, errOf, makePipeNetns, type PipeNetns, startPipeWorld, waitFor } from './netns-world.js';

let n: PipeNetns;
let pair: Pair;
let procs: NsProcess[] = [];

const stopAll = async () => {
  for (const p of procs) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.done));
  procs = [];
};

describe.skipIf(!canUseNetns)('onepad pipe across network namespaces', () => {
  beforeAll(() => {
    n = makePipeNetns('t');
    pair = makePair(64 << 20);
  });
  afterAll(async () => {
    await stopAll();
    n?.teardown();
    pair?.cleanup();
  });

  it('an SSH-like interactive stream and a bulk transfer arrive whole', async () => {
    const w = await startPipeWorld(n, pair.dirA, pair.dirB);
    procs.push(w.devA, w.devB, w.pipeE, w.pipeD, ...w.echo);
    const i = await client(n, 8025, 'interactive', 40);
    expect(i.ok).toBe(true);
    expect(i.rttMs).toHaveLength(40);
    const b = await client(n, 8025, 'bulk', 4 << 20);
    expect(b).toMatchObject({ ok: true, bytes: 4 << 20 });
  }, 180_000);

  it.each(['sender', 'receiver'] as const)(
    'the %s device killed mid-stream: the stream ends with a clear error; after a restart a new pipe reuses no byte',
    async (which) => {
      await stopAll();
      const w = await startPipeWorld(n, pair.dirA, pair.dirB);
      procs.push(w.devA, w.devB, w.pipeE, w.pipeD, ...w.echo);
      const bulk = client(n, 8025, 'bulk', 64 << 20);
      await new Promise((r) => setTimeout(r, 1500));
      (which === 'sender' ? w.devA : w.devB).child.kill('SIGKILL');
      const r = await bulk;
      expect(r.ok).toBe(false);
      const pipe = which === 'sender' ? w.pipeE : w.pipeD;
      await waitFor(pipe, /LINK_UNREACHABLE/);
      expect(errOf(pipe)).toMatch(/onepad: LINK_UNREACHABLE|connection ended: LINK_UNREACHABLE/);
      // Restart everything on the same data dirs: a new session on both devices, a new stream.
      await stopAll();
      const w2 = await startPipeWorld(n, pair.dirA, pair.dirB);
      procs.push(w2.devA, w2.devB, w2.pipeE, w2.pipeD, ...w2.echo);
      const again = await client(n, 8025, 'bulk', 256 << 10);
      expect(again).toMatchObject({ ok: true });
      expect(errOf(w2.pipeD)).not.toMatch(/REPLAY|OVERLAP|MAC_INVALID/);
      expect(errOf(w2.pipeE)).not.toMatch(/REPLAY|OVERLAP|MAC_INVALID/);
    },
    240_000,
  );
});
