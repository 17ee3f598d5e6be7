/**
 * systemd/nftables.conf and the pairing-mode helper (systemd/onepad-pairing-mode with pairing-open.nft and
 * pairing-close.nft), loaded into network namespaces made for this test:
 *
 *   [device ns] eth0 ──veth── lap0 [peer ns]
 *     10.254.0.1/30             10.254.0.2/30 (the laptop) + 10.254.0.6/30 (a stranger)
 *     fe80::1/64                fe80::2/64 (the other device, on the cable)
 *     fd00::1/64                fd00::2/64 (a stranger speaking IPv6 from a routable address)
 *
 * Both sides listen on tcp 4747 (RPC), 47002 (pairing) and 4750 (anything else), the device also on udp 47001
 * (pairing beacons) and 4751. A control run without the ruleset shows every probe would get through; with it,
 * only the laptop's RPC connection does; pairing mode (asked for as the device service asks, through the request
 * file) lets exactly the link-local pairing traffic through and cuts the laptop off, even a connection it held;
 * closing, a bad request, a vanished request file and the window running out all end it. All traffic stays inside
 * the namespaces, which are removed afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SYSTEMD = fileURLToPath(new URL('../../systemd/', import.meta.url));
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const PROBE = here('./firewall-probe.mjs');
const LISTEN = here('./firewall-listen.mjs');
const UDP = here('./firewall-udp.mjs');
const HOLD = here('./firewall-hold.mjs');
const ok = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const usable = process.getuid?.() === 0 && ok('ip', ['-V']) && ok('nft', ['--version']);
const DEV = `onepad-fw-dev-${process.pid}`;
const LAP = `onepad-fw-lap-${process.pid}`;
const children: ChildProcess[] = [];
const work = mkdtempSync(join(tmpdir(), 'onepad-fw-'));
const REQUEST = join(work, 'pairing-request');

function sh(ns: string | null, args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(ns ? 'ip' : (args[0] as string), ns ? ['netns', 'exec', ns, ...args] : args.slice(1), {
    encoding: 'utf8',
    timeout: 15_000,
    env: env ? { ...process.env, ...env } : process.env,
  });
}

type Probe = { host: string; port: number; from?: string };
function probe(ns: string, probes: Probe[]): string[] {
  return JSON.parse(sh(ns, [process.execPath, PROBE, JSON.stringify(probes)]));
}

/** Start a helper in a namespace; resolves once it printed its first line. */
function start(ns: string, args: string[]): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}`)));
  });
}

/** Datagrams the device's UDP listener received. */
const received: { port: number; from: string }[] = [];
/** Send one datagram per entry from inside `ns`; what each send returned ("sent", or an error code such as EPERM). */
function sendUdp(ns: string, sends: { host: string; port: number; from: string; fromPort?: number }[]): string[] {
  return JSON.parse(sh(ns, [process.execPath, UDP, 'send', JSON.stringify(sends)]));
}
/**
 * Wait for datagrams to be reported into `got`: until `want` have come (up to 10 s: the listener's reports cross a
 * process on a loaded machine), then 700 ms more for any extra one; with `want` 0, 700 ms.
 */
async function settleDatagrams(got: readonly unknown[], want: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (got.length < want && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 700));
}

/**
 * Send `sends` and return the ports that arrived, sorted. UDP may lose a datagram: when fewer than `want` arrived,
 * the whole batch is sent again (three tries in all, each logged), so a datagram the ruleset lets through but the
 * link lost once does not fail a run, while one the ruleset drops never arrives in any try. One more than expected
 * is never retried away: the first try with at least `want` is the answer. `lastSends` holds what each send of the
 * last try returned.
 */
let lastSends: string[] = [];
async function tries(send: () => string[], got: { port: number }[], want: number): Promise<number[]> {
  for (let attempt = 1; ; attempt++) {
    got.length = 0;
    const results = send();
    lastSends = results;
    await settleDatagrams(got, want);
    const ports = got.map((r) => r.port).sort((a, b) => a - b);
    if (ports.length >= want || attempt === 3) return ports;
    console.warn(`firewall test: try ${attempt} got ${JSON.stringify(ports)} of ${want} (sends: ${results})`);
  }
}

const udpGot = (ns: string, sends: Parameters<typeof sendUdp>[1], want = 0) =>
  tries(() => sendUdp(ns, sends), received, want);

/** A held connection: send a line, get "echo" or "silent". */
interface Held {
  say(line: string): Promise<string>;
}
async function hold(ns: string, p: Probe): Promise<Held> {
  const child = await start(ns, [HOLD, JSON.stringify(p)]);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return {
    async say(line) {
      child.stdin?.write(`${line}\n`);
      return String((await lines.next()).value);
    },
  };
}

/** Ask for pairing mode as the device service does (request file), then run the helper as the path unit would. */
function request(content: string | null, nftDir = SYSTEMD): string {
  rmSync(REQUEST, { force: true });
  if (content !== null) writeFileSync(REQUEST, content);
  return sh(DEV, ['sh', join(SYSTEMD, 'onepad-pairing-mode')], {
    ONEPAD_PAIRING_REQUEST: REQUEST,
    ONEPAD_PAIRING_NFT_DIR: nftDir,
  });
}
const pairingSet = () => sh(DEV, ['nft', 'list', 'set', 'inet', 'onepad', 'pairing']);

const LAPTOP: Probe[] = [
  { host: '10.254.0.1', port: 4747, from: '10.254.0.2' },
  { host: '10.254.0.1', port: 47002, from: '10.254.0.2' },
  { host: '10.254.0.1', port: 4750, from: '10.254.0.2' },
  { host: '10.254.0.1', port: 4747, from: '10.254.0.6' },
];
/** The other device on the cable (link-local), and a stranger with a routable IPv6 address. */
const PEER: Probe[] = [
  { host: 'fe80::1%lap0', port: 47002, from: 'fe80::2%lap0' },
  { host: 'fe80::1%lap0', port: 4747, from: 'fe80::2%lap0' },
  { host: 'fe80::1%lap0', port: 4750, from: 'fe80::2%lap0' },
  { host: 'fd00::1', port: 47002, from: 'fd00::2' },
];
/** What the device itself may reach: the peer's pairing port (Join), anything else on it, the laptop. */
const FROM_DEVICE: Probe[] = [
  { host: 'fe80::2%eth0', port: 47002, from: 'fe80::1%eth0' },
  { host: 'fe80::2%eth0', port: 4750, from: 'fe80::1%eth0' },
  { host: 'fd00::2', port: 47002, from: 'fd00::1' },
  { host: '10.254.0.2', port: 47002 },
];
/** Beacons from the peer: to the all-nodes group on the discovery port and another; unicast; from a ULA. */
const BEACONS = [
  { host: 'ff02::1%lap0', port: 47001, from: 'fe80::2%lap0' },
  { host: 'ff02::1%lap0', port: 4751, from: 'fe80::2%lap0' },
  { host: 'fe80::1%lap0', port: 4751, from: 'fe80::2%lap0' },
  { host: 'fe80::1%lap0', port: 47001, from: 'fe80::2%lap0' },
  { host: 'fd00::1', port: 47001, from: 'fd00::2' },
];

describe.skipIf(!usable)('firewall (nftables) and pairing mode on a veth link', () => {
  const peerUdp: { port: number; from: string }[] = [];
  beforeAll(async () => {
    sh(null, ['ip', 'netns', 'add', DEV]);
    sh(null, ['ip', 'netns', 'add', LAP]);
    sh(null, ['ip', '-n', DEV, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lap0', 'netns', LAP]);
    for (const [ns, dev, v4, me] of [
      [DEV, 'eth0', ['10.254.0.1/30'], '1'],
      [LAP, 'lap0', ['10.254.0.2/30', '10.254.0.6/30'], '2'],
    ] as const) {
      sh(null, ['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      // Fixed addresses, usable at once: no generated link-local address, no duplicate detection.
      sh(null, ['ip', '-n', ns, 'link', 'set', dev, 'addrgenmode', 'none']);
      sh(ns, ['sysctl', '-qw', `net.ipv6.conf.${dev}.accept_dad=0`]);
      for (const a of v4) sh(null, ['ip', '-n', ns, 'addr', 'add', a, 'dev', dev]);
      sh(null, ['ip', '-n', ns, 'addr', 'add', `fe80::${me}/64`, 'dev', dev]);
      sh(null, ['ip', '-n', ns, 'addr', 'add', `fd00::${me}/64`, 'dev', dev]);
      sh(null, ['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
    sh(null, ['ip', '-n', DEV, 'route', 'add', '10.254.0.4/30', 'dev', 'eth0']);
    await Promise.all([start(DEV, [LISTEN, '4747', '47002', '4750']), start(LAP, [LISTEN, '4747', '47002', '4750'])]);
    const devUdp = await start(DEV, [UDP, 'listen', '47001', '4751']);
    createInterface({ input: devUdp.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      if (l.startsWith('{')) received.push(JSON.parse(l));
    });
    const lapUdp = await start(LAP, [UDP, 'listen', '47001', '4751']);
    createInterface({ input: lapUdp.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      if (l.startsWith('{')) peerUdp.push(JSON.parse(l));
    });
  });

  afterAll(() => {
    for (const c of children) c.kill();
    for (const ns of [DEV, LAP]) ok('ip', ['netns', 'del', ns]);
    rmSync(work, { recursive: true, force: true });
  });

  /** Beacons sent by the device, as its initiator sends them (from the discovery port), as received by the peer. */
  const DEVICE_BEACONS = [
    { host: 'ff02::1%eth0', port: 47001, from: 'fe80::1%eth0', fromPort: 47001 },
    { host: 'ff02::1%eth0', port: 4751, from: 'fe80::1%eth0', fromPort: 47001 },
  ];
  const deviceBeacons = (want = 0) => tries(() => sendUdp(DEV, DEVICE_BEACONS), peerUdp, want);

  /** Everything the ruleset lets through outside pairing mode: the laptop's RPC connection, nothing more. */
  async function expectNormal(): Promise<void> {
    expect(probe(LAP, LAPTOP)).toEqual(['open', 'timeout', 'timeout', 'timeout']);
    expect(probe(LAP, PEER)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
    expect(probe(DEV, FROM_DEVICE)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
    expect(await udpGot(LAP, BEACONS)).toEqual([]);
    expect(await deviceBeacons()).toEqual([]);
  }

  it('without the ruleset, every probe gets through (control)', async () => {
    expect(probe(LAP, LAPTOP)).toEqual(['open', 'open', 'open', 'open']);
    expect(probe(LAP, PEER)).toEqual(['open', 'open', 'open', 'open']);
    expect(probe(DEV, FROM_DEVICE)).toEqual(['open', 'open', 'open', 'open']);
    expect(await udpGot(LAP, BEACONS, 5)).toEqual([4751, 4751, 47001, 47001, 47001]);
    expect(lastSends).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    expect(await deviceBeacons(2)).toEqual([4751, 47001]);
  });

  it('with it, only the RPC port from the laptop answers; no IPv6 at all; the device opens nothing', async () => {
    sh(DEV, ['nft', '-f', `${SYSTEMD}nftables.conf`]);
    await expectNormal();
  });

  it('pairing mode lets exactly link-local pairing through, both ways, and cuts the laptop off', async () => {
    const laptop = await hold(LAP, { host: '10.254.0.1', port: 4747, from: '10.254.0.2' });
    expect(await laptop.say('before')).toBe('echo');
    expect(request('open\n')).toBe('pairing mode: open\n');
    expect(pairingSet()).toMatch(/elements = \{ "eth0" timeout 5m/);
    // The laptop gets nothing: no new connection, and the one it held goes silent.
    expect(probe(LAP, LAPTOP)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
    expect(await laptop.say('during')).toBe('silent');
    // The other device reaches the pairing port over link-local only; the device reaches its pairing port only.
    expect(probe(LAP, PEER)).toEqual(['open', 'timeout', 'timeout', 'timeout']);
    expect(probe(DEV, FROM_DEVICE)).toEqual(['open', 'timeout', 'timeout', 'timeout']);
    // Beacons: only to the all-nodes group, on the discovery port, from a link-local address.
    expect(await udpGot(LAP, BEACONS, 1)).toEqual([47001]);
    expect(await deviceBeacons(1)).toEqual([47001]);

    // A pairing connection held open across the end of pairing mode goes silent with it.
    const pairing = await hold(LAP, { host: 'fe80::1%lap0', port: 47002, from: 'fe80::2%lap0' });
    expect(await pairing.say('chunk')).toBe('echo');
    // Renewing keeps one element with a fresh timeout.
    expect(request('open\n')).toBe('pairing mode: open\n');
    expect(pairingSet().match(/"eth0"/g)).toHaveLength(1);

    expect(request('close\n')).toBe('pairing mode: close\n');
    expect(pairingSet()).not.toMatch(/elements/);
    expect(await pairing.say('after')).toBe('silent');
    await expectNormal();
    // The laptop's connection carries on once pairing mode is over.
    expect(await laptop.say('after')).toBe('echo');
  });

  it('anything but exactly "open", or no request file at all, closes pairing mode', () => {
    for (const bad of [null, '', 'open', 'opened\n', 'open\nopen\n', 'OPEN\n', ' open\n', 'open\0\n', 'close\n']) {
      expect(request('open\n')).toBe('pairing mode: open\n');
      expect(request(bad), JSON.stringify(bad)).toBe('pairing mode: close\n');
      expect(pairingSet(), JSON.stringify(bad)).not.toMatch(/elements/);
    }
    // A directory where the request should be is no request.
    request('open\n');
    rmSync(REQUEST);
    execFileSync('mkdir', [REQUEST]);
    try {
      const env = { ONEPAD_PAIRING_REQUEST: REQUEST, ONEPAD_PAIRING_NFT_DIR: SYSTEMD };
      expect(sh(DEV, ['sh', join(SYSTEMD, 'onepad-pairing-mode')], env)).toBe('pairing mode: close\n');
    } finally {
      rmSync(REQUEST, { recursive: true });
    }
  });

  it('pairing mode closes by itself when its window runs out', async () => {
    // The shipped open request, its window shortened from 5 minutes to 2 seconds (nothing else changed).
    const dir = join(work, 'short');
    execFileSync('mkdir', ['-p', dir]);
    const open = readFileSync(join(SYSTEMD, 'pairing-open.nft'), 'utf8');
    expect(open).toMatch(/timeout 5m \}/);
    writeFileSync(join(dir, 'pairing-open.nft'), open.replace(/timeout 5m \}/, 'timeout 2s }'));
    writeFileSync(join(dir, 'pairing-close.nft'), readFileSync(join(SYSTEMD, 'pairing-close.nft')));
    expect(request('open\n', dir)).toBe('pairing mode: open\n');
    expect(probe(LAP, PEER)[0]).toBe('open');
    await new Promise((r) => setTimeout(r, 2500));
    expect(pairingSet()).not.toMatch(/elements/);
    await expectNormal();
  });
});
