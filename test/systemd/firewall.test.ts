/**
 * systemd/nftables.conf and pairing.nft, loaded into network namespaces made for this test:
 *
 *   [device ns] eth0 10.254.0.1/30 ──veth── lap0 10.254.0.2/30 + 10.254.0.6/30 (a stranger) [laptop ns]
 *
 * Both sides listen on 4747 (RPC), 4748 (pairing) and 4750 (anything else). A control run without the ruleset
 * shows every connection would succeed; with it, only the laptop's RPC connection does, and pairing mode opens
 * 4748 both ways. All traffic stays inside the namespaces, which are removed afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SYSTEMD = fileURLToPath(new URL('../../systemd/', import.meta.url));
const PROBE = fileURLToPath(new URL('./firewall-probe.mjs', import.meta.url));
const LISTEN = fileURLToPath(new URL('./firewall-listen.mjs', import.meta.url));
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
const listeners: ChildProcess[] = [];

function sh(ns: string | null, args: string[]): string {
  return execFileSync(ns ? 'ip' : (args[0] as string), ns ? ['netns', 'exec', ns, ...args] : args.slice(1), {
    encoding: 'utf8',
    timeout: 15_000,
  });
}

type Probe = { host: string; port: number; from?: string };
function probe(ns: string, probes: Probe[]): string[] {
  return JSON.parse(sh(ns, [process.execPath, PROBE, JSON.stringify(probes)]));
}

function listen(ns: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, LISTEN, '4747', '4748', '4750'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  listeners.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
  });
}

const FROM_LAPTOP: Probe[] = [
  { host: '10.254.0.1', port: 4747, from: '10.254.0.2' },
  { host: '10.254.0.1', port: 4748, from: '10.254.0.2' },
  { host: '10.254.0.1', port: 4750, from: '10.254.0.2' },
  { host: '10.254.0.1', port: 4747, from: '10.254.0.6' },
];
const FROM_DEVICE: Probe[] = [
  { host: '10.254.0.2', port: 4748 },
  { host: '10.254.0.2', port: 4750 },
];

describe.skipIf(!usable)('firewall (nftables) on a veth link', () => {
  beforeAll(async () => {
    sh(null, ['ip', 'netns', 'add', DEV]);
    sh(null, ['ip', 'netns', 'add', LAP]);
    sh(null, ['ip', '-n', DEV, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lap0', 'netns', LAP]);
    sh(null, ['ip', '-n', DEV, 'addr', 'add', '10.254.0.1/30', 'dev', 'eth0']);
    sh(null, ['ip', '-n', LAP, 'addr', 'add', '10.254.0.2/30', 'dev', 'lap0']);
    sh(null, ['ip', '-n', LAP, 'addr', 'add', '10.254.0.6/30', 'dev', 'lap0']);
    for (const [ns, dev] of [
      [DEV, 'eth0'],
      [LAP, 'lap0'],
    ] as const) {
      sh(null, ['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      sh(null, ['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
    sh(null, ['ip', '-n', DEV, 'route', 'add', '10.254.0.4/30', 'dev', 'eth0']);
    await Promise.all([listen(DEV), listen(LAP)]);
  });

  afterAll(() => {
    for (const l of listeners) l.kill();
    for (const ns of [DEV, LAP]) ok('ip', ['netns', 'del', ns]);
  });

  it('without the ruleset, every probe connects (control)', () => {
    expect(probe(LAP, FROM_LAPTOP)).toEqual(['open', 'open', 'open', 'open']);
    expect(probe(DEV, FROM_DEVICE)).toEqual(['open', 'open']);
  });

  it('with it, only the RPC port from the laptop answers; the device opens nothing', () => {
    sh(DEV, ['nft', '-f', `${SYSTEMD}nftables.conf`]);
    expect(probe(LAP, FROM_LAPTOP)).toEqual(['open', 'timeout', 'timeout', 'timeout']);
    expect(probe(DEV, FROM_DEVICE)).toEqual(['timeout', 'timeout']);
  });

  it('pairing mode opens the pairing port on the link, both ways, and nothing more', () => {
    sh(DEV, ['nft', '-f', `${SYSTEMD}pairing.nft`]);
    expect(probe(LAP, FROM_LAPTOP)).toEqual(['open', 'open', 'timeout', 'timeout']);
    expect(probe(DEV, FROM_DEVICE)).toEqual(['open', 'timeout']);
    // Renewing keeps one element with a fresh timeout.
    sh(DEV, ['nft', '-f', `${SYSTEMD}pairing.nft`]);
    expect(sh(DEV, ['nft', 'list', 'set', 'inet', 'onepad', 'pairing'])).toMatch(/elements = \{ "eth0" timeout 10m/);
  });
});
