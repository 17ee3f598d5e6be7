/**
 * Pipe channels across network namespaces (test/pipe/netns-world.ts: two laptops, each with its simulated device
 * on a link of its own): the pipe relay runs on lapB's "internet" address, both laptops join one channel there,
 * and an SSH-like interactive stream and a bulk transfer run at the same time through it. Then either device is
 * SIGKILLed mid-stream: every stream on its laptop ends with LINK_UNREACHABLE, every stream on the other laptop
 * with PIPE_PEER_FAILED naming that code; after a restart a new channel works with no byte reused (the receiving
 * device would answer REPLAY or OVERLAP for a reused key slot or stream byte).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePair, type Pair } from '../helpers/engine-fixture.js';
import { canUseNetns, type NsProcess } from '../helpers/netns.js';
import { client, errOf, makePipeNetns, type PipeNetns, run, waitFor } from './netns-world.js';

let n: PipeNetns;
let pair: Pair;
let procs: NsProcess[] = [];

const stopAll = async () => {
  for (const p of procs) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.done));
  procs = [];
};

/** Devices, echo, relay on lapB, and both channel ends joined through it. */
async function startChannelWorld() {
  const devA = run(n.ns.devA, 'test/pipe/netns-device-child.ts', ['A', pair.dirA, n.ip.devA, n.ip.lapAdev, '4747']);
  const devB = run(n.ns.devB, 'test/pipe/netns-device-child.ts', ['B', pair.dirB, n.ip.devB, n.ip.lapBdev, '4747']);
  const echo = run(n.ns.lapB, 'test/pipe/netns-echo-child.ts', ['127.0.0.1', '7000']);
  const relay = run(n.ns.lapB, 'device/service/main.ts', ['pipe-relay', '--address', n.ip.lapB, '--port', '4849']);
  procs.push(devA, devB, echo, relay);
  await Promise.all([
    waitFor(devA, /ready/),
    waitFor(devB, /ready/),
    waitFor(echo, /ready/),
    waitFor(relay, /listening/),
  ]);
  const r = `[${n.ip.lapB}]:4849`;
  const pipeD = run(n.ns.lapB, 'device/service/main.ts', [
    'pipe',
    '-d',
    '--relay',
    r,
    '--channel',
    'alice-bob',
    '-t',
    '[127.0.0.1]:7000',
    '--contact',
    'alice',
    '--device',
    `http://${n.ip.devB}:4747`,
  ]);
  const pipeE = run(n.ns.lapA, 'device/service/main.ts', [
    'pipe',
    '-e',
    '--relay',
    r,
    '--channel',
    'alice-bob',
    '-s',
    '[127.0.0.1]:8025',
    '--contact',
    'bob',
    '--device',
    `http://${n.ip.devA}:4747`,
  ]);
  procs.push(pipeD, pipeE);
  await Promise.all([waitFor(pipeE, /listening on/), waitFor(pipeD, /channel open/)]);
  return { devA, devB, relay, pipeD, pipeE };
}

const failed = (p: NsProcess) => errOf(p).match(/stream [0-9a-f]{16} failed: .*/g) ?? [];

describe.skipIf(!canUseNetns)('pipe channels across network namespaces', () => {
  beforeAll(() => {
    n = makePipeNetns('m');
    pair = makePair(96 << 20);
  });
  afterAll(async () => {
    await stopAll();
    n?.teardown();
    pair?.cleanup();
  });

  it('through the relay: an SSH-like interactive stream and a bulk transfer at the same time, one channel', async () => {
    const w = await startChannelWorld();
    const [i, b] = await Promise.all([client(n, 8025, 'interactive', 40), client(n, 8025, 'bulk', 4 << 20)]);
    expect(i.ok).toBe(true);
    expect(i.rttMs).toHaveLength(40);
    expect(b).toMatchObject({ ok: true, bytes: 4 << 20 });
    // Both streams opened on the one channel: one "channel open" on each side, two streams seen by -d.
    expect(errOf(w.pipeE).match(/channel open/g)).toHaveLength(1);
    expect(errOf(w.pipeD).match(/channel open/g)).toHaveLength(1);
    expect(errOf(w.pipeD).match(/stream [0-9a-f]{16} opened by the other side/g)).toHaveLength(2);
  }, 240_000);

  it.each(['sender', 'receiver'] as const)(
    'the %s device killed mid-stream: each stream ends with a coded error; after a restart nothing is reused',
    async (which) => {
      await stopAll();
      const w = await startChannelWorld();
      const streams = Promise.all([client(n, 8025, 'interactive', 100000), client(n, 8025, 'bulk', 64 << 20)]);
      await waitFor(w.pipeD, /opened by the other side[\s\S]*opened by the other side/);
      await new Promise((r) => setTimeout(r, 1500));
      (which === 'sender' ? w.devA : w.devB).child.kill('SIGKILL');
      const [i, b] = await streams;
      expect(i.ok).toBe(false);
      expect(b.ok).toBe(false);
      const own = which === 'sender' ? w.pipeE : w.pipeD;
      const other = which === 'sender' ? w.pipeD : w.pipeE;
      await waitFor(own, /channel ended/);
      await waitFor(other, /channel ended/);
      const ownLines = failed(own);
      const otherLines = failed(other);
      expect(ownLines).toHaveLength(2);
      expect(otherLines).toHaveLength(2);
      for (const l of ownLines) expect(l).toMatch(/failed: LINK_UNREACHABLE/);
      for (const l of otherLines) expect(l).toMatch(/failed: PIPE_PEER_FAILED \(code=LINK_UNREACHABLE\)/);
      await stopAll();
      const w2 = await startChannelWorld();
      const again = await client(n, 8025, 'bulk', 256 << 10);
      expect(again).toMatchObject({ ok: true });
      for (const p of [w2.pipeD, w2.pipeE]) expect(errOf(p)).not.toMatch(/REPLAY|OVERLAP|MAC_INVALID|failed:/);
    },
    300_000,
  );
});
