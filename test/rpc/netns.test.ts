/**
 * The device on a real link: three network namespaces made for this test only.
 *
 *   [peer ns] 10.254.K.2 ──veth── 10.254.K.1 [device ns] 10.254.K.5 ──veth── 10.254.K.6 [stranger ns]
 *
 * The device runs as its own process (`onepad device --sim --auto-approve`) in the device namespace, bound to
 * 10.254.K.1 with peer 10.254.K.2; the client commands run in the peer namespace. The stranger namespace is
 * routed to the link address through the device's second interface, and the peer namespace also holds a second
 * address: neither may get an answer. All traffic stays inside the namespaces; they are removed afterwards.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePair, type Pair, utf8 } from '../helpers/engine-fixture.js';
import {
  addNamespaces,
  canUseNetns,
  deleteNamespaces,
  ip,
  type NsProcess,
  removeLeftoverNamespaces,
  spawnInNs,
} from '../helpers/netns.js';

const CLI = 'test/rpc/cli-child.ts';
const PROBE = 'test/rpc/probe-child.ts';
const PREFIX = 'onepad-t';
const tag = `${PREFIX}${process.pid}`;
const NS = { device: `${tag}-d`, peer: `${tag}-p`, stranger: `${tag}-s` };
const K = (process.pid % 200) + 20;
const IP = {
  device: `10.254.${K}.1`,
  peer: `10.254.${K}.2`,
  deviceSide2: `10.254.${K}.5`,
  stranger: `10.254.${K}.6`,
  peerExtra: `10.254.${K}.9`,
};
const PORT = 4747;
const IF = { dp: `op${process.pid}d`, pd: `op${process.pid}p`, ds: `op${process.pid}s`, sd: `op${process.pid}x` };

function setUpNetwork(): void {
  addNamespaces(...Object.values(NS));
  ip('link', 'add', IF.dp, 'netns', NS.device, 'type', 'veth', 'peer', 'name', IF.pd, 'netns', NS.peer);
  ip('link', 'add', IF.ds, 'netns', NS.device, 'type', 'veth', 'peer', 'name', IF.sd, 'netns', NS.stranger);
  ip('-n', NS.device, 'addr', 'add', `${IP.device}/30`, 'dev', IF.dp);
  ip('-n', NS.peer, 'addr', 'add', `${IP.peer}/30`, 'dev', IF.pd);
  ip('-n', NS.peer, 'addr', 'add', `${IP.peerExtra}/32`, 'dev', IF.pd);
  ip('-n', NS.device, 'addr', 'add', `${IP.deviceSide2}/30`, 'dev', IF.ds);
  ip('-n', NS.stranger, 'addr', 'add', `${IP.stranger}/30`, 'dev', IF.sd);
  for (const [ns, dev] of [
    [NS.device, IF.dp],
    [NS.device, IF.ds],
    [NS.peer, IF.pd],
    [NS.stranger, IF.sd],
  ] as const) {
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
  // The stranger reaches the link address through the device's second interface; the device answers the
  // peer's extra address over the link.
  ip('-n', NS.stranger, 'route', 'add', `${IP.device}/32`, 'via', IP.deviceSide2);
  ip('-n', NS.device, 'route', 'add', `${IP.peerExtra}/32`, 'dev', IF.dp);
}

let pair: Pair;
let device: NsProcess | undefined;
const deviceUrl = `http://${IP.device}:${PORT}`;

// Creating namespaces needs root (CAP_NET_ADMIN) and iproute2; CI runs as root.
describe.skipIf(!canUseNetns)('the device on a point-to-point link (network namespaces)', () => {
  beforeAll(async () => {
    removeLeftoverNamespaces(PREFIX);
    setUpNetwork();
    pair = makePair(4096);
    const config = join(pair.root, 'alice.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: pair.dirA,
        device: { name: 'alice', simulated: true },
        link: { address: IP.device, peer: IP.peer, port: PORT },
      }),
    );
    device = spawnInNs(NS.device, CLI, ['device', '--config', config, '--sim', '--auto-approve']);
    const d = device;
    const end = Date.now() + 30_000;
    while (!d.output().includes('"device ready"')) {
      if (Date.now() > end || d.child.exitCode !== null) throw new Error(`device did not start: ${d.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    if (device && device.child.exitCode === null) {
      device.child.kill('SIGKILL');
      await device.done;
    }
    deleteNamespaces(...Object.values(NS));
    pair?.cleanup();
  });

  it('full round trip from the peer namespace: package, then unpackage of the answer', async () => {
    const secret = 'PLAINTEXT over the cable';
    const p = await spawnInNs(NS.peer, CLI, ['package', '--url', deviceUrl, '--to', 'bob', secret]).done;
    expect(p.stderr).not.toMatch(/error/);
    expect(p.code).toBe(0);
    const pkg = p.stdout.trim();
    const bob = pair.openB();
    const opened = await bob.unpackage(Buffer.from(pkg, 'base64'));
    expect(new TextDecoder().decode(opened.plaintext ?? new Uint8Array())).toBe(secret);

    const reply = await bob.package('alice', utf8('PLAINTEXT reply'));
    const u = await spawnInNs(NS.peer, CLI, [
      'unpackage',
      '--url',
      deviceUrl,
      Buffer.from(reply.package).toString('base64'),
    ]).done;
    expect(u.code).toBe(0);
    expect(u.stdout).toContain('from: bob\ntext: PLAINTEXT reply\n');
  });

  it('is not reachable from anywhere but the peer address on the link', async () => {
    const fromStranger = await spawnInNs(NS.stranger, PROBE, [deviceUrl, `http://${IP.deviceSide2}:${PORT}`]).done;
    const s = JSON.parse(fromStranger.stdout) as Record<string, string>;
    // Routed to the link address: the connection is dropped before a byte is read.
    expect(s[deviceUrl]).toMatch(/^LINK_UNREACHABLE:(ECONNRESET|EPIPE|socket hang up)/);
    // The device's other address has nothing listening.
    expect(s[`http://${IP.deviceSide2}:${PORT}`]).toBe('LINK_UNREACHABLE:ECONNREFUSED');

    const fromPeer = await spawnInNs(NS.peer, PROBE, [`${deviceUrl}@${IP.peerExtra}`, `${deviceUrl}@${IP.peer}`]).done;
    const p = JSON.parse(fromPeer.stdout) as Record<string, string>;
    // Same cable, other source address: dropped too.
    expect(p[`${deviceUrl}@${IP.peerExtra}`]).toMatch(/^LINK_UNREACHABLE:(ECONNRESET|EPIPE|socket hang up)/);
    // The real peer gets an answer (the probe's package is garbage: MALFORMED).
    expect(p[`${deviceUrl}@${IP.peer}`]).toBe('MALFORMED:too short');
  });

  it('stops cleanly on SIGTERM; the ledger keeps what was committed', async () => {
    if (!device) throw new Error('no device');
    device.child.kill('SIGTERM');
    const d = await device.done;
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('"stopping"');
    expect(d.stdout).not.toContain('PLAINTEXT');
    const alice = pair.openA();
    const pad = alice.pads()[0];
    // One message of 24 bytes sent (v2: one key slot and 24 stream bytes), one of 15 received.
    expect(pad?.sendIndex).toBe(1);
    expect(pad?.cursor).toBe(32 * (pad?.keySlotsA ?? 0) + 24);
    expect(alice.received(pair.padId)).toHaveLength(1);
    // Nothing was left half-done for recovery to burn.
    expect(alice.events.recent(100, ['CRASH_RECOVERY'])).toHaveLength(0);
  });
});
