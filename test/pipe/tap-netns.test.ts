/**
 * TAP mode (`onepad pipe --tap NAME`) across network namespaces only (test/pipe/netns-world.ts): each laptop
 * makes a TAP interface (socat opens /dev/net/tun inside the laptop's namespace), and its Ethernet frames travel
 * as ETHER records of one channel, packaged by the laptop's simulated device. The TAP subnet exists nowhere else:
 * a ping and a TCP transfer between its two addresses can only cross through both devices.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePair, type Pair } from '../helpers/engine-fixture.js';
import { canUseNetns, ip, type NsProcess } from '../helpers/netns.js';
import { client, errOf, makePipeNetns, type PipeNetns, run, waitFor } from './netns-world.js';

let n: PipeNetns;
let pair: Pair;
const procs: NsProcess[] = [];
const K = (process.pid % 200) + 20;
const tapA = `10.250.${K}.1`;
const tapB = `10.250.${K}.2`;

describe.skipIf(!canUseNetns)('onepad pipe --tap across network namespaces', () => {
  beforeAll(() => {
    n = makePipeNetns('x');
    pair = makePair(64 << 20);
  });
  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.done));
    n?.teardown();
    pair?.cleanup();
  });

  it('a ping and a TCP transfer between two namespaces cross through both devices as Ethernet frames', async () => {
    const devA = run(n.ns.devA, 'test/pipe/netns-device-child.ts', ['A', pair.dirA, n.ip.devA, n.ip.lapAdev, '4747']);
    const devB = run(n.ns.devB, 'test/pipe/netns-device-child.ts', ['B', pair.dirB, n.ip.devB, n.ip.lapBdev, '4747']);
    procs.push(devA, devB);
    await Promise.all([waitFor(devA, /ready/), waitFor(devB, /ready/)]);
    const pipeB = run(n.ns.lapB, 'device/service/main.ts', [
      'pipe',
      '--tap',
      'otapb',
      '-s',
      `[${n.ip.lapB}]:8026`,
      '--contact',
      'alice',
      '--device',
      `http://${n.ip.devB}:4747`,
    ]);
    procs.push(pipeB);
    await waitFor(pipeB, /listening for channels/);
    const pipeA = run(n.ns.lapA, 'device/service/main.ts', [
      'pipe',
      '--tap',
      'otapa',
      '-t',
      `[${n.ip.lapB}]:8026`,
      '--contact',
      'bob',
      '--device',
      `http://${n.ip.devA}:4747`,
    ]);
    procs.push(pipeA);
    await Promise.all([waitFor(pipeA, /channel open/), waitFor(pipeB, /channel open/)]);
    expect(errOf(pipeA)).toMatch(/tap otapa up/);
    ip('-n', n.ns.lapA, 'addr', 'add', `${tapA}/24`, 'dev', 'otapa');
    ip('-n', n.ns.lapB, 'addr', 'add', `${tapB}/24`, 'dev', 'otapb');
    // The TAP subnet is only on the two TAP interfaces: no other way between lapA and lapB reaches it.
    const routes = execFileSync('ip', ['-n', n.ns.lapA, 'route', 'get', tapB], { encoding: 'utf8' });
    expect(routes).toMatch(/dev otapa/);

    let ping = '';
    try {
      ping = execFileSync('ip', ['netns', 'exec', n.ns.lapA, 'ping', '-c', '3', '-W', '20', '-i', '0.5', tapB], {
        encoding: 'utf8',
        timeout: 120_000,
      });
    } catch (e) {
      throw new Error(
        `ping failed: ${execFileSync('ip', ['-n', n.ns.lapB, '-s', 'link', 'show', 'otapb'], { encoding: 'utf8' })} ${String((e as { stdout?: string }).stdout)} A: ${errOf(pipeA)} B: ${errOf(pipeB)} ${execFileSync('ip', ['-n', n.ns.lapA, '-s', 'link', 'show', 'otapa'], { encoding: 'utf8' })}`,
      );
    }
    expect(ping).toMatch(/3 received/);

    const echo = run(n.ns.lapB, 'test/pipe/netns-echo-child.ts', [tapB, '7100']);
    procs.push(echo);
    await waitFor(echo, /ready/);
    const bulk = await client(n, 7100, 'bulk', 1 << 20, tapB);
    expect(bulk).toMatchObject({ ok: true, bytes: 1 << 20 });

    // Stop both ends: each reports what its device packaged for it.
    pipeA.child.kill('SIGTERM');
    pipeB.child.kill('SIGTERM');
    await Promise.all([pipeA.done, pipeB.done]);
    for (const p of [pipeA, pipeB]) {
      const m = /pad used (\d+) bytes for (\d+) bytes sent in (\d+) frames/.exec(errOf(p));
      expect(m, errOf(p)).not.toBeNull();
      // At least the 1 MiB one way (A) or back (B), in frames of at most one Ethernet frame each.
      expect(Number(m?.[2])).toBeGreaterThan(1 << 20);
      expect(Number(m?.[3])).toBeGreaterThan(700);
    }
  }, 300_000);
});
