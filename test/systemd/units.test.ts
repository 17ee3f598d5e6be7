/**
 * The systemd units, sysusers file, firewall and boot configuration in systemd/, checked with the real tools:
 * `systemd-analyze verify` and `security --offline` (exposure printed, target 2.0 or lower), `systemd-sysusers
 * --root` into a temporary root, and the nftables ruleset loaded into network namespaces made for this test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../device/config/config.js';

const DIR = fileURLToPath(new URL('../../systemd/', import.meta.url));
const UNITS = readdirSync(DIR).filter((f) => /\.(service|path|socket|timer)$/.test(f));
const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const hasAnalyze = has('systemd-analyze', ['--version']);

/** Parse a unit file into section -> key -> values (repeated keys accumulate). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let section = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = out.get(header[1] as string) ?? new Map();
      out.set(header[1] as string, section);
      continue;
    }
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const service = parseUnit(readFileSync(join(DIR, 'onepad.service'), 'utf8')).get('Service') as Map<string, string[]>;
const config = loadConfig(join(DIR, 'onepad-config.json'));

describe('units', () => {
  it('finds the units', () => {
    expect(UNITS).toEqual(expect.arrayContaining(['onepad.service', 'onepad-pairing.service', 'onepad-pairing.path']));
  });

  it.skipIf(!hasAnalyze)('systemd-analyze verify passes for every unit, without warnings', () => {
    // verify checks that ExecStart binaries exist. The image has Debian's /usr/bin/node and onepad's own files in
    // /usr/lib/onepad/systemd; this machine verifies a copy naming its own node and systemd/ (nothing else changed).
    const tmp = mkdtempSync(join(tmpdir(), 'onepad-units-'));
    const dir = tmp;
    for (const u of UNITS) {
      let text = readFileSync(join(DIR, u), 'utf8').replaceAll(
        '/usr/lib/onepad/systemd/onepad-pairing-mode',
        `${DIR}onepad-pairing-mode`,
      );
      if (!existsSync('/usr/bin/node')) text = text.replaceAll('/usr/bin/node ', `${process.execPath} `);
      writeFileSync(join(tmp, u), text);
    }
    try {
      const r = spawnSync('systemd-analyze', ['verify', ...UNITS.map((u) => join(dir, u))], { encoding: 'utf8' });
      const ours = `${r.stdout}${r.stderr}`
        .split('\n')
        .filter((l) => UNITS.some((u) => l.includes(u)) || l.includes(dir));
      expect(ours).toEqual([]);
      expect(r.status).toBe(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasAnalyze)('systemd-analyze security --offline: exposure 2.0 or lower for every service', () => {
    for (const unit of UNITS.filter((u) => u.endsWith('.service'))) {
      const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', join(DIR, unit)], {
        encoding: 'utf8',
      });
      const m = /Overall exposure level for (\S+): ([0-9.]+)/.exec(r.stdout);
      expect(m, r.stdout + r.stderr).not.toBeNull();
      const score = Number(m?.[2]);
      process.stdout.write(`systemd-analyze security --offline ${unit}: exposure ${score.toFixed(1)}\n`);
      expect(score).toBeLessThanOrEqual(2.0);
    }
  });

  it('runs as a dedicated user with no capabilities, a 0700 state dir, UMask 0077 and a watchdog', () => {
    expect(service.get('User')).toEqual(['onepad']);
    expect(service.get('CapabilityBoundingSet')).toEqual(['']);
    expect(service.get('StateDirectory')).toEqual(['onepad']);
    expect(service.get('StateDirectoryMode')).toEqual(['0700']);
    expect(service.get('UMask')).toEqual(['0077']);
    expect(service.get('Restart')).toEqual(['on-failure']);
    expect(service.get('WatchdogSec')?.[0]).toMatch(/^\d+s$/);
    expect(service.get('ExecStart')?.[0]).toContain('--import /usr/lib/onepad/systemd/watchdog.mjs');
    expect(service.get('DevicePolicy')).toEqual(['closed']);
    // No core dumps: a core of the service would hold pad bytes and plaintext.
    expect(service.get('LimitCORE')).toEqual(['0']);
    for (const k of ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'NoNewPrivileges']) {
      expect(service.get(k)?.[0], k).toMatch(/^(yes|strict)$/);
    }
  });

  it('agrees with the shipped config: state dir, link addresses and port', () => {
    expect(config.dataDir).toBe('/var/lib/onepad');
    expect(config.device.simulated).toBe(false);
    expect(service.get('ExecStart')?.[0]).toMatch(/device --config \/etc\/onepad\/config\.json$/);
    expect(service.get('SocketBindAllow')).toEqual([
      `ipv4:tcp:${config.link.port}`,
      `ipv6:tcp:${config.pairing.port}`,
      `ipv6:udp:${config.pairing.discoveryPort}`,
    ]);
    expect(service.get('IPAddressDeny')).toEqual(['any']);
    expect(service.get('IPAddressAllow')).toEqual(['10.254.0.0/30 fe80::/10 ff02::1/128']);
    expect(service.get('RestrictAddressFamilies')).toEqual(['AF_INET AF_INET6 AF_UNIX AF_NETLINK']);
    const network = readFileSync(join(DIR, '10-onepad-link.network'), 'utf8');
    expect(network).toContain(`Address=${config.link.address}/30`);
    // Pairing needs the cable's IPv6 link-local address (and only that: no RA, no DHCP).
    expect(network).toMatch(/^LinkLocalAddressing=ipv6$/m);
    expect(network).toMatch(/^IPv6AcceptRA=no$/m);
    const nft = readFileSync(join(DIR, 'nftables.conf'), 'utf8');
    expect(nft).toContain(`ip saddr ${config.link.peer} ip daddr ${config.link.address} tcp dport ${config.link.port}`);
    expect(config.pairing.interface).toBe('eth0');
    expect(nft).toContain(`ip6 daddr ff02::1 udp dport ${config.pairing.discoveryPort} accept`);
    expect(nft).toContain(`ip6 daddr fe80::/10 tcp dport ${config.pairing.port} ct state new,established accept`);
  });

  it('pairing mode: the service asks through the file the path unit watches; the helper has one capability', () => {
    const path = parseUnit(readFileSync(join(DIR, 'onepad-pairing.path'), 'utf8')).get('Path');
    expect(path?.get('PathModified')).toEqual([config.pairing.modeRequest]);
    expect(path?.get('Unit')).toEqual(['onepad-pairing.service']);
    // The request lives in the service's own runtime directory.
    expect(config.pairing.modeRequest).toBe(`/run/${service.get('RuntimeDirectory')?.[0]}/pairing-request`);
    const helper = parseUnit(readFileSync(join(DIR, 'onepad-pairing.service'), 'utf8')).get('Service');
    expect(helper?.get('ExecStart')).toEqual(['/usr/lib/onepad/systemd/onepad-pairing-mode']);
    expect(helper?.get('DynamicUser')).toEqual(['yes']);
    expect(helper?.get('SupplementaryGroups')).toEqual(['onepad']);
    expect(helper?.get('CapabilityBoundingSet')).toEqual(['CAP_NET_ADMIN']);
    expect(helper?.get('AmbientCapabilities')).toEqual(['CAP_NET_ADMIN']);
    expect(helper?.get('RestrictAddressFamilies')).toEqual(['AF_NETLINK']);
    expect(helper?.get('IPAddressDeny')).toEqual(['any']);
  });
});

describe('devices the service may open', () => {
  const rules = readFileSync(join(DIR, '60-onepad.rules'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const modules = readFileSync(join(DIR, 'onepad-modules.conf'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  // The kernel names of this machine's misc devices and their node names (uevent DEVNAME), e.g. hw_random -> hwrng.
  const misc = existsSync('/sys/class/misc')
    ? readdirSync('/sys/class/misc').map((name) => {
        const uevent = readFileSync(join('/sys/class/misc', name, 'uevent'), 'utf8');
        return { name, node: /^DEVNAME=(.*)$/m.exec(uevent)?.[1] };
      })
    : [];
  const hwrng = misc.find((m) => m.node === 'hwrng');

  it.skipIf(!hwrng)('the hwrng rule names the kernel device (read from this kernel: hw_random), not its node', () => {
    // udev's KERNEL matches the kernel's device name. A rule on "hwrng" (the node's name) never matched, so on the
    // image /dev/hwrng stayed root 0600 and the service could not open it (seen in the shipped boot test).
    const rule = rules.find((l) => /SUBSYSTEM=="misc"/.test(l) && /GROUP="onepad"/.test(l));
    expect(rule).toBeDefined();
    expect(/KERNEL=="([^"]+)"/.exec(rule as string)?.[1]).toBe(hwrng?.name);
  });

  it('every device group and path in DeviceAllow exists before the service starts (modules loaded early)', () => {
    // DevicePolicy=closed resolves each DeviceAllow= once, at start: a group missing from /proc/devices or a path
    // missing from /dev is dropped. The modules that make them are loaded by systemd-modules-load, and the image
    // installs that list.
    const allow = service.get('DeviceAllow') ?? [];
    expect(service.get('DevicePolicy')).toEqual(['closed']);
    const makes: Record<string, string> = {
      'char-ttyUSB': 'usbserial',
      'char-ttyACM': 'cdc_acm',
      '/dev/hwrng': 'rng_core',
    };
    for (const [entry, module] of Object.entries(makes)) {
      expect(allow.some((a) => a.split(/\s+/)[0] === entry)).toBe(true);
      expect(modules).toContain(module);
    }
    const build = readFileSync(fileURLToPath(new URL('../../image/build.sh', import.meta.url)), 'utf8');
    expect(build).toContain('"$s/onepad-modules.conf" "$R/etc/modules-load.d/onepad.conf"');
  });
});

describe('sysusers', () => {
  it.skipIf(!has('systemd-sysusers', ['--version']))('creates a locked system user with no login shell', () => {
    const root = mkdtempSync(join(tmpdir(), 'onepad-sysusers-'));
    try {
      mkdirSync(join(root, 'etc'));
      execFileSync('systemd-sysusers', [`--root=${root}`, join(DIR, 'onepad.sysusers')], { stdio: 'pipe' });
      const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n');
      const line = passwd.find((l) => l.startsWith('onepad:'))?.split(':');
      expect(line).toBeDefined();
      expect(Number(line?.[2])).toBeLessThan(1000);
      expect(line?.[5]).toBe('/var/lib/onepad');
      expect(line?.[6]).toBe('/usr/sbin/nologin');
      const shadow = readFileSync(join(root, 'etc/shadow'), 'utf8').split('\n');
      expect(shadow.find((l) => l.startsWith('onepad:'))?.split(':')[1]).toMatch(/^[!*]/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('boot configuration', () => {
  it('turns Wi-Fi and Bluetooth off and has no serial console', () => {
    const cfg = readFileSync(join(DIR, 'boot/config.txt'), 'utf8');
    // The radios are disabled in the device trees at build time (boot-partition.test.ts), not by firmware
    // overlays that the boot partition does not have.
    expect(cfg).not.toMatch(/^dtoverlay=disable-(wifi|bt)/m);
    const noRadio = readFileSync(join(DIR, 'boot/onepad-no-radio.dts'), 'utf8');
    expect(noRadio).toMatch(/&sdhci \{\s*status = "disabled";\s*\};/);
    expect(noRadio).toMatch(/&bt \{\s*status = "disabled";\s*\};/);
    expect(cfg).toMatch(/^enable_uart=0$/m);
    const cmdline = readFileSync(join(DIR, 'boot/cmdline.txt'), 'utf8');
    expect(cmdline.trim().split('\n')).toHaveLength(1);
    expect(cmdline).not.toMatch(/console=(ttyS|ttyAMA|serial)/);
    expect(cmdline).toMatch(/\bnet\.ifnames=0\b/);
    expect(cmdline).toMatch(/(^| )cma=64M( |$)/);
    // The kernel console shares /dev/fb0 with the service: its cursor must not blink over the trusted band.
    expect(cmdline).toMatch(/(^| )vt\.global_cursor_default=0( |$)/);
    const modprobe = readFileSync(join(DIR, 'boot/onepad-no-radio.conf'), 'utf8');
    for (const m of ['brcmfmac', 'hci_uart', 'bluetooth'])
      expect(modprobe).toMatch(new RegExp(`^install ${m} /bin/false$`, 'm'));
  });
});
