/**
 * image/boot-partition.sh, the boot partition's device trees and checks and the rootfs trimming, run on their
 * own (no root, no image build): the functions image/build.sh calls.
 *
 * - Device trees: every Pi the docs name is copied (and nothing else); the radio overlay, compiled with Debian's
 *   dtc, is applied with fdtoverlay to each, and the build step fails when a named tree is missing or the overlay
 *   does not apply. Run against small trees compiled here with the mainline labels, and, when
 *   ONEPAD_KERNEL_DEB names Debian's arm64 kernel package (linux-image-*-arm64_*.deb), against its own trees.
 * - config.txt may name only overlays present on the boot partition; cmdline.txt keeps cma=64M.
 * - Trimming masks the apt/dpkg timers and drops the musl build of @napi-rs/canvas, keeping the glibc one.
 *
 * Needs Debian's device-tree-compiler (dtc, fdtoverlay, fdtget), installed here when missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LIB = join(ROOT, 'image/boot-partition.sh');
const OVERLAY = join(ROOT, 'systemd/boot/onepad-no-radio.dts');
const PI_DTBS = ['bcm2711-rpi-4-b', 'bcm2711-rpi-400', 'bcm2837-rpi-3-b-plus', 'bcm2837-rpi-3-b'];
const dir = mkdtempSync(join(tmpdir(), 'onepad-bootpart-'));

beforeAll(() => {
  if (spawnSync('sh', ['-c', 'command -v fdtoverlay && command -v fdtget']).status !== 0) {
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'device-tree-compiler'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: 'ignore',
    });
  }
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run a function of boot-partition.sh. */
function run(fn: string, ...args: string[]) {
  return spawnSync('bash', ['-c', `. "${LIB}"; ${fn} "$@"`, 'bash', ...args], { encoding: 'utf8' });
}

const fdtget = (dtb: string, node: string, prop: string) =>
  spawnSync('fdtget', ['-t', 's', dtb, node, prop], { encoding: 'utf8' }).stdout.trim();

/** A Pi-like tree with the mainline labels: sdhci (the Wi-Fi's SDIO host) and bt (the Bluetooth node). */
function piTree(withBt = true): string {
  return `/dts-v1/;
/ {
  compatible = "raspberrypi,test";
  #address-cells = <1>;
  #size-cells = <1>;
  soc {
    #address-cells = <1>;
    #size-cells = <1>;
    sdhci: mmc@7e300000 { reg = <0x7e300000 0x100>; status = "okay"; brcmf: wifi@1 { compatible = "brcm,bcm4329-fmac"; }; };
    sdhost: mmc@7e202000 { reg = <0x7e202000 0x100>; status = "okay"; };
    uart0: serial@7e201000 { reg = <0x7e201000 0x200>; status = "okay";${withBt ? ' bt: bluetooth { compatible = "brcm,bcm43438-bt"; };' : ''} };
    hdmi: hdmi@7e902000 { reg = <0x7e902000 0x600>; status = "okay"; };
  };
};
`;
}

/** A fake kernel package dir: KDIR/broadcom/<name>.dtb for each name. */
function kernelDir(names: readonly string[], tree = piTree()): string {
  const k = mkdtempSync(join(dir, 'k-'));
  mkdirSync(join(k, 'broadcom'));
  const src = join(k, 'tree.dts');
  writeFileSync(src, tree);
  for (const n of names)
    execFileSync('dtc', ['-q', '-@', '-I', 'dts', '-O', 'dtb', '-o', join(k, 'broadcom', `${n}.dtb`), src]);
  return k;
}

describe('boot_device_trees', () => {
  it('copies every Pi the docs name and nothing else, each with Wi-Fi and Bluetooth disabled', () => {
    const k = kernelDir([...PI_DTBS, 'bcm2837-rpi-cm3-io3', 'bcm2712-rpi-5-b']);
    const boot = mkdtempSync(join(dir, 'boot-'));
    const r = run('boot_device_trees', k, boot, OVERLAY);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(boot).sort()).toEqual(PI_DTBS.map((n) => `${n}.dtb`).sort());
    for (const n of PI_DTBS) {
      const f = join(boot, `${n}.dtb`);
      expect(fdtget(f, '/soc/mmc@7e300000', 'status')).toBe('disabled');
      expect(fdtget(f, '/soc/serial@7e201000/bluetooth', 'status')).toBe('disabled');
      // The SD card's host and the display are untouched.
      expect(fdtget(f, '/soc/mmc@7e202000', 'status')).toBe('okay');
      expect(fdtget(f, '/soc/hdmi@7e902000', 'status')).toBe('okay');
    }
  });

  it('fails when a Pi the docs name has no device tree in the kernel package', () => {
    const k = kernelDir(PI_DTBS.filter((n) => n !== 'bcm2837-rpi-3-b-plus'));
    const r = run('boot_device_trees', k, mkdtempSync(join(dir, 'boot-')), OVERLAY);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/bcm2837-rpi-3-b-plus\.dtb is not in the kernel package/);
  });

  it('fails when the overlay does not apply (a tree without the label it targets)', () => {
    const k = kernelDir(PI_DTBS, piTree(false));
    const r = run('boot_device_trees', k, mkdtempSync(join(dir, 'boot-')), OVERLAY);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/onepad-no-radio\.dts does not apply to bcm2/);
  });

  it('fails when an overlay does not compile', () => {
    const bad = join(dir, 'bad.dts');
    writeFileSync(bad, '/dts-v1/;\n/plugin/;\n&sdhci { status = ; };\n');
    const r = run('boot_device_trees', kernelDir(PI_DTBS), mkdtempSync(join(dir, 'boot-')), bad);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/dtc failed/);
  });

  const deb = process.env.ONEPAD_KERNEL_DEB;
  it.runIf(deb)("Debian's own arm64 kernel package (ONEPAD_KERNEL_DEB): every named tree, overlay applied", () => {
    const x = mkdtempSync(join(dir, 'deb-'));
    execFileSync('dpkg-deb', ['-x', deb as string, x]);
    const kdir = join(x, 'usr/lib', readdirSync(join(x, 'usr/lib')).find((d) => d.startsWith('linux-image-')) ?? '');
    const boot = mkdtempSync(join(dir, 'boot-'));
    const r = run('boot_device_trees', kdir, boot, OVERLAY);
    expect(r.status, r.stderr).toBe(0);
    for (const n of PI_DTBS) {
      const f = join(boot, `${n}.dtb`);
      const wifi = spawnSync('fdtget', ['-t', 's', f, '/__symbols__', 'sdhci'], { encoding: 'utf8' }).stdout.trim();
      const bt = spawnSync('fdtget', ['-t', 's', f, '/__symbols__', 'bt'], { encoding: 'utf8' }).stdout.trim();
      expect(fdtget(f, wifi, 'status')).toBe('disabled');
      expect(fdtget(f, bt, 'status')).toBe('disabled');
      // vc4 KMS drives HDMI as the mainline tree has it; the DSI port stays off (the 7" DSI is unsupported).
      const hdmi = spawnSync('fdtget', ['-t', 's', f, '/__symbols__', n.startsWith('bcm2711') ? 'hdmi0' : 'hdmi'], {
        encoding: 'utf8',
      }).stdout.trim();
      expect(fdtget(f, hdmi, 'status')).toBe('okay');
    }
  });
});

describe('boot_check_config', () => {
  function bootWith(config: string, cmdline: string, overlays: string[]): string {
    const boot = mkdtempSync(join(dir, 'cfg-'));
    mkdirSync(join(boot, 'overlays'));
    for (const o of overlays) writeFileSync(join(boot, 'overlays', `${o}.dtbo`), '');
    writeFileSync(join(boot, 'config.txt'), config);
    writeFileSync(join(boot, 'cmdline.txt'), cmdline);
    return boot;
  }
  const shippedConfig = readFileSync(join(ROOT, 'systemd/boot/config.txt'), 'utf8');
  const shippedCmdline = readFileSync(join(ROOT, 'systemd/boot/cmdline.txt'), 'utf8');

  it("passes the shipped config.txt and cmdline.txt with raspi-firmware's overlays", () => {
    const r = run('boot_check_config', bootWith(shippedConfig, shippedCmdline, ['pi4-spidev', 'hifiberry-dac']));
    expect(r.status, r.stderr).toBe(0);
  });

  it('fails for an overlay named but not shipped (the vc4-kms-dsi-7inch of before), with parameters too', () => {
    for (const line of ['dtoverlay=vc4-kms-dsi-7inch', 'dtoverlay=disable-wifi', 'dtoverlay=vc4-kms-v3d,cma-128']) {
      const r = run('boot_check_config', bootWith(`${shippedConfig}\n${line}\n`, shippedCmdline, ['pi4-spidev']));
      expect(r.status, line).not.toBe(0);
      expect(r.stderr).toContain(`overlay ${line.slice(10).split(',')[0]}`);
    }
    // A commented-out line is not a request.
    const ok = run(
      'boot_check_config',
      bootWith(`${shippedConfig}\n#dtoverlay=disable-bt\n`, shippedCmdline, ['pi4-spidev']),
    );
    expect(ok.status, ok.stderr).toBe(0);
  });

  it('fails when cmdline.txt drops cma=64M', () => {
    const r = run('boot_check_config', bootWith(shippedConfig, shippedCmdline.replace(' cma=64M', ''), ['pi4-spidev']));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cma=64M/);
  });
});

describe('rootfs_trim', () => {
  it('masks the apt and dpkg timers, drops the musl canvas, keeps the glibc one', () => {
    const r0 = mkdtempSync(join(dir, 'root-'));
    const wants = join(r0, 'etc/systemd/system/timers.target.wants');
    mkdirSync(wants, { recursive: true });
    for (const t of ['apt-daily.timer', 'apt-daily-upgrade.timer', 'dpkg-db-backup.timer', 'fstrim.timer']) {
      symlinkSync(`/usr/lib/systemd/system/${t}`, join(wants, t));
    }
    const nm = join(r0, 'usr/lib/onepad/node_modules/@napi-rs');
    for (const p of ['canvas', 'canvas-linux-arm64-gnu', 'canvas-linux-arm64-musl']) {
      mkdirSync(join(nm, p), { recursive: true });
      writeFileSync(join(nm, p, 'x.node'), 'x');
    }
    const r = run('rootfs_trim', r0);
    expect(r.status, r.stderr).toBe(0);
    for (const t of ['apt-daily.timer', 'apt-daily-upgrade.timer', 'dpkg-db-backup.timer']) {
      expect(existsSync(join(wants, t))).toBe(false);
      expect(readlinkSync(join(r0, 'etc/systemd/system', t))).toBe('/dev/null');
    }
    expect(existsSync(join(wants, 'fstrim.timer'))).toBe(true);
    expect(readdirSync(nm).sort()).toEqual(['canvas', 'canvas-linux-arm64-gnu']);
  });

  it('fails when no glibc build of @napi-rs/canvas would be left', () => {
    const r0 = mkdtempSync(join(dir, 'root-'));
    const nm = join(r0, 'usr/lib/onepad/node_modules/@napi-rs');
    mkdirSync(join(nm, 'canvas'), { recursive: true });
    mkdirSync(join(nm, 'canvas-linux-arm64-musl'), { recursive: true });
    const r = run('rootfs_trim', r0);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no glibc build/);
  });
});
