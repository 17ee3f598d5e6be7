/**
 * Pairing as on two flashed devices: each device process runs in its own network namespace behind the image's
 * firewall (systemd/nftables.conf, loaded there), its cable end named eth0 as on the image, and asks for pairing
 * mode through its request file as the image's service does. Whenever a request file changes, this test runs the
 * image's helper (systemd/onepad-pairing-mode) in that device's namespace, as onepad-pairing.path runs
 * onepad-pairing.service. The users pair from the screens (Pair, Start / Join, hold Match); afterwards both
 * firewalls are closed to pairing again. All traffic stays inside the namespaces.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addNamespaces,
  canUseNetns,
  deleteNamespaces,
  ip,
  removeLeftoverNamespaces,
  spawnInNs,
} from '../helpers/netns.js';

const SYSTEMD = fileURLToPath(new URL('../../systemd/', import.meta.url));
const CHILD = 'test/provisioning/screen-pair-child.ts';
const PREFIX = 'onepad-pc';
const NS = { a: `${PREFIX}${process.pid}-a`, b: `${PREFIX}${process.pid}-b` };
const hasNft = (() => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const inNs = (ns: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
const pairingSet = (ns: string) => inNs(ns, ['nft', 'list', 'set', 'inet', 'onepad', 'pairing']);

/** The path unit's part: run the helper in `ns` after every change of `dir`/pairing-request, one run at a time. */
function watchRequests(ns: string, dir: string, log: string[]): () => void {
  const request = join(dir, 'pairing-request');
  let running = false;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    do {
      again = false;
      const out = inNs(ns, ['sh', join(SYSTEMD, 'onepad-pairing-mode')], {
        ONEPAD_PAIRING_REQUEST: request,
        ONEPAD_PAIRING_NFT_DIR: SYSTEMD,
      });
      log.push(...out.trim().split('\n'));
    } while (again);
    running = false;
  };
  const w = watch(dir, (_event, name) => {
    if (name === 'pairing-request') run();
  });
  return () => w.close();
}

function lines(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!canUseNetns || !hasNft)('pairing through the image firewall and its pairing mode', () => {
  let root: string;
  beforeAll(() => {
    removeLeftoverNamespaces(PREFIX);
    addNamespaces(NS.a, NS.b);
    // One cable, named eth0 at both ends as on the image (made under other names, renamed inside).
    ip(
      'link',
      'add',
      `pc${process.pid}a`,
      'netns',
      NS.a,
      'type',
      'veth',
      'peer',
      'name',
      `pc${process.pid}b`,
      'netns',
      NS.b,
    );
    for (const [ns, tmp] of [
      [NS.a, `pc${process.pid}a`],
      [NS.b, `pc${process.pid}b`],
    ] as const) {
      ip('-n', ns, 'link', 'set', tmp, 'name', 'eth0');
      inNs(ns, ['sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0']);
      inNs(ns, ['nft', '-f', join(SYSTEMD, 'nftables.conf')]);
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    }
    for (const ns of [NS.a, NS.b]) {
      const until = Date.now() + 10_000;
      while (!/inet6 fe80:/.test(inNs(ns, ['ip', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']))) {
        if (Date.now() > until) throw new Error(`no link-local address in ${ns}`);
        execFileSync('sleep', ['0.05']);
      }
    }
    root = mkdtempSync(join(tmpdir(), 'onepad-paircable-'));
  });
  afterAll(() => {
    deleteNamespaces(NS.a, NS.b);
    rmSync(root, { recursive: true, force: true });
  });

  it('both screens pair; pairing mode opened on both for the pairing and closed after it', async () => {
    const run = { a: join(root, 'run-alice'), b: join(root, 'run-bob') };
    const logs = { a: [] as string[], b: [] as string[] };
    mkdirSync(run.a);
    mkdirSync(run.b);
    const stops = [watchRequests(NS.a, run.a, logs.a), watchRequests(NS.b, run.b, logs.b)];
    try {
      expect(pairingSet(NS.a)).not.toMatch(/elements/);
      const a = spawnInNs(NS.a, CHILD, [join(root, 'alice'), 'alice', 'eth0', 'start', join(run.a, 'pairing-request')]);
      const b = spawnInNs(NS.b, CHILD, [join(root, 'bob'), 'bob', 'eth0', 'join', join(run.b, 'pairing-request')]);
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      const pa = (lines(ra.stdout).find((l) => l.step === 'done')?.pads as Record<string, unknown>[])?.[0];
      const pb = (lines(rb.stdout).find((l) => l.step === 'done')?.pads as Record<string, unknown>[])?.[0];
      expect(pa).toMatchObject({ contact: 'bob', side: 'A', state: 'active' });
      expect(pb).toMatchObject({ contact: 'alice', side: 'B', state: 'active', padId: pa?.padId });
      // Each side asked for pairing mode first and for its end last; both firewalls are closed again.
      await new Promise((r) => setTimeout(r, 300));
      for (const side of ['a', 'b'] as const) {
        expect(logs[side][0], side).toBe('pairing mode: open');
        expect(logs[side].at(-1), side).toBe('pairing mode: close');
        expect(readFileSync(join(run[side], 'pairing-request'), 'utf8')).toBe('close\n');
        expect(pairingSet(NS[side]), side).not.toMatch(/elements/);
      }
    } finally {
      for (const s of stops) s();
    }
  }, 120_000);
});
