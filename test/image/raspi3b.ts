/**
 * The Raspberry Pi 3 B check (`npm run test:image -- --raspi3b`, the arm64 image, as root): the image's SD card
 * booted under `qemu-system-aarch64 -M raspi3b` (TCG) with the image's own kernel, initrd and device tree from its
 * boot partition (the shipped bcm2837-rpi-3-b.dtb, radios-off overlay applied; `--raspi3b-plus` boots
 * bcm2837-rpi-3-b-plus.dtb on the same machine as well), to show that the Pi's own device tree, SD card and
 * hardware RNG come up with Debian's kernel. From the guest's report on its serial console (the PL011, ttyAMA0)
 * and from the host, it checks:
 *
 * - the kernel ran with the Pi's device tree (model, `brcm,bcm2837`), its SDIO Wi-Fi host disabled;
 * - the root file system is the SD card's second partition, on the Pi's SD host controller (sdhost-bcm2835), and
 *   the boot partition is mounted from it;
 * - /dev/hwrng is bcm2835-rng and gives bytes; the image's own onepad.service (shipped ExecStart and sandbox)
 *   reads it: the pool fills from it, secure, nothing latched;
 * - onepad, nftables and networkd are active, no restart, no failed unit; only 4747 listens, and from the laptop
 *   only 4747 answers.
 *
 * What QEMU's raspi3b does not have, and what stands in (the image is not changed; the test's copy of the root fs
 * is): no display (QEMU emulates no VC4/HDMI), so the config's display is `sim`; no TrueRNG, so the only source is
 * `hwrng` (the shipped config's TrueRNG would be absent and stop filling); no on-board ethernet (the Pi 3 B's
 * LAN9514 is not emulated), so QEMU's usb-net on the Pi's USB host controller (dwc2) is eth0, on a tap in a network
 * namespace of the test's own. The first-boot answers are in identity.json. Under TCG the start timeout, the
 * watchdog and systemd's wait for devices are longer. Every wait is bounded; qemu is killed and the namespace removed.
 */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLOSED_PORTS, check, GUEST, type Prepared, probe, REPO, RPC_PORT, reportOf, sh, step } from './common.js';
import { type OverlayDir, type OverlayFile, partitions, writeExt4 } from './disk.js';
import { type Guest, spawnQemu } from './qemu.js';
import { wire } from './shipped.js';

const SHIPPED_CONFIG = join(REPO, 'systemd/onepad-config.json');
/** Each tree's model string (its `model` property). */
const MODELS: Readonly<Record<string, string>> = {
  'bcm2837-rpi-3-b': 'Raspberry Pi 3 Model B',
  'bcm2837-rpi-3-b-plus': 'Raspberry Pi 3 Model B+',
};
/** A globally administered MAC: cdc_ether/rndis_host then name the interface eth%d (a Pi's smsc95xx is eth0 too). */
const MAC = '50:54:00:0e:00:0d';

/** The guest's config: the shipped one, with the display simulated and /dev/hwrng the only source (see above). */
function guestConfig(): Record<string, unknown> {
  const shipped = JSON.parse(readFileSync(SHIPPED_CONFIG, 'utf8')) as { display: Record<string, unknown> };
  return {
    ...shipped,
    hrng: { sources: [{ kind: 'hwrng' }] },
    display: { ...shipped.display, sink: 'sim', input: 'sim' },
  };
}

function overlay(p: Prepared) {
  const { uid, gid } = p;
  const unit = [
    '[Unit]',
    'Description=onepad boot test report (boot test only)',
    'After=onepad.service',
    '[Service]',
    'Type=oneshot',
    'ExecStart=/usr/local/sbin/onepad-boot-test-report',
    'StandardOutput=tty',
    'TTYPath=/dev/ttyAMA0',
    '',
  ].join('\n');
  const dirs: OverlayDir[] = [
    { path: '/var/lib/onepad', mode: 0o700, uid, gid },
    { path: '/etc/systemd/system/onepad.service.d', mode: 0o755 },
    { path: '/etc/systemd/system.conf.d', mode: 0o755 },
  ];
  const files: OverlayFile[] = [
    {
      path: '/etc/systemd/system/onepad.service.d/boot-test-tcg.conf',
      content:
        '# Boot test under TCG only: see test/image/raspi3b.ts.\n[Service]\nTimeoutStartSec=15min\nWatchdogSec=600s\n',
      mode: 0o644,
    },
    // udev's coldplug under TCG took longer than systemd's 90 s for /dev/disk/by-label/ONEPAD-BOOT (seen once:
    // boot-firmware.mount failed on 'dependency'); only the wait for devices is longer here.
    {
      path: '/etc/systemd/system.conf.d/boot-test-tcg.conf',
      content: '# Boot test under TCG only: see test/image/raspi3b.ts.\n[Manager]\nDefaultDeviceTimeoutSec=15min\n',
      mode: 0o644,
    },
    { path: '/etc/onepad/config.json', content: `${JSON.stringify(guestConfig(), null, 2)}\n`, mode: 0o644 },
    {
      path: '/var/lib/onepad/identity.json',
      content: `${JSON.stringify({ name: 'heron', ownerWord: 'lantern' })}\n`,
      mode: 0o600,
      uid,
      gid,
    },
    { path: '/usr/local/sbin/onepad-boot-test-report', from: join(REPO, 'test/image/report-raspi3b.sh'), mode: 0o755 },
    { path: '/etc/systemd/system/onepad-boot-test-report.service', content: unit, mode: 0o644 },
  ];
  const links = [
    {
      path: '/etc/systemd/system/multi-user.target.wants/onepad-boot-test-report.service',
      target: '/etc/systemd/system/onepad-boot-test-report.service',
    },
  ];
  return { dirs, files, links };
}

/**
 * The SD card: the image's MBR and boot partition, and the test's copy of the root partition, in a sparse file
 * whose size is a power of two (QEMU's SD card model requires it).
 */
function sdCard(p: Prepared, root: string, dest: string): void {
  const [, rootPart] = partitions(p.image);
  if (!rootPart) throw new Error('the image has no root partition');
  const end = (rootPart.start + rootPart.size) * 512;
  let size = 1;
  while (size < end) size *= 2;
  rmSync(dest, { force: true });
  writeFileSync(dest, '');
  sh('truncate', '-s', String(size), dest);
  const dd = (args: string[]) =>
    sh('dd', ...args, `of=${dest}`, 'bs=4M', 'conv=sparse,notrunc', 'iflag=fullblock,count_bytes', 'status=none');
  dd([`if=${p.image}`, `count=${rootPart.start * 512}`]);
  dd([`if=${root}`, `seek=${rootPart.start * 512}`, 'oflag=seek_bytes', `count=${rootPart.size * 512}`]);
}

/** Boot the SD card on -M raspi3b with the shipped tree `dtb` and check what came up. */
async function bootOne(p: Prepared, dtb: string, budgetMs: number): Promise<void> {
  const t0 = Date.now();
  const w = `raspi3b (${dtb}):`;
  const ns = `onepad-arm${process.pid}-r`;
  const root = join(p.work, 'root-raspi3b.ext4');
  const sd = join(p.work, 'sd-raspi3b.img');
  const consoleLog = join(REPO, `image/.cache/boot-test-console-raspi3b-${dtb}.log`);
  let guest: Guest | undefined;
  try {
    copyFileSync(p.rootExt4, root);
    writeExt4(root, p.work, overlay(p));
    sdCard(p, root, sd);
    rmSync(root);
    wire(ns);
    // The image's own cmdline.txt (the firmware passes it on a Pi), its console on the PL011 instead of tty1, and
    // PID 1's notices on it.
    const append = p.cmdline
      .split(/\s+/)
      .filter((x) => !/^(console=|quiet$|loglevel=|systemd\.show_status=)/.test(x))
      .concat([
        'console=ttyAMA0,115200',
        'panic=-1',
        'systemd.show_status=true',
        'systemd.log_target=kmsg',
        'systemd.log_level=notice',
      ])
      .join(' ');
    writeFileSync(consoleLog, '');
    const args = [
      '-M',
      'raspi3b',
      '-accel',
      'tcg,thread=multi',
      '-nographic',
      '-monitor',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
      '-kernel',
      join(p.work, 'vmlinuz'),
      '-initrd',
      join(p.work, 'initrd.img'),
      '-dtb',
      join(p.work, `${dtb}.dtb`),
      '-append',
      append,
      '-drive',
      `file=${sd},format=raw,if=sd,cache=unsafe`,
      '-netdev',
      'tap,id=link,ifname=tap0,script=no,downscript=no',
      '-device',
      `usb-net,netdev=link,mac=${MAC}`,
    ];
    guest = spawnQemu(ns, 'qemu-system-aarch64', args, consoleLog);
    step(`${w} qemu started; console image/.cache/boot-test-console-raspi3b-${dtb}.log`);
    step(`${w} kernel command line: ${append}`);
    const model = await guest.waitFor(/Machine model: ([^\r\n]*)/, 10 * 60_000, `${w} the kernel`);
    check(
      model[1] === MODELS[dtb],
      `${w} the kernel booted with the shipped device tree (Machine model)`,
      `${model[1]} after ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    let shown = 0;
    const progress = setInterval(() => {
      const lines = (guest as Guest).console().match(/ONEPAD-PROGRESS [^\r\n]*/g) ?? [];
      for (const l of lines.slice(shown)) step(l);
      shown = lines.length;
    }, 5000);
    const field = await reportOf(guest, w, budgetMs - (Date.now() - t0) - 60_000).finally(() =>
      clearInterval(progress),
    );
    step(`${w} report after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    check(field('model')[0] === MODELS[dtb], `${w} the running tree's model`, field('model')[0]);
    check(
      (field('compatible')[0] ?? '').split(' ').includes('brcm,bcm2837'),
      `${w} the running tree is compatible with brcm,bcm2837`,
      field('compatible')[0],
    );
    check(field('sdhci-status')[0] === 'disabled', `${w} the Wi-Fi's SDIO host is disabled`, field('sdhci-status')[0]);
    check(
      field('root')[0] === '/dev/mmcblk0p2 ext4',
      `${w} the root file system is the SD card's second partition`,
      field('root')[0],
    );
    check(
      field('mmc-host')[0] === '3f202000.mmc sdhost-bcm2835',
      `${w} the SD card is on the Pi's SD host controller (sdhost-bcm2835)`,
      field('mmc-host')[0],
    );
    check(
      (field('boot')[0] ?? '').startsWith('/dev/mmcblk0p1 vfat'),
      `${w} the boot partition is mounted from the SD card`,
      field('boot')[0],
    );
    check(
      field('hwrng')[0] === '3f104000.rng bcm2835-rng',
      `${w} /dev/hwrng is the Pi's RNG (bcm2835-rng)`,
      field('hwrng')[0],
    );
    check(field('hwrng-read')[0] === '4096', `${w} /dev/hwrng gives bytes (4096 read)`, field('hwrng-read')[0]);
    check(
      (field('eth0')[0] ?? '').startsWith(`${GUEST}/30 `),
      `${w} eth0 (usb-net on dwc2) has the link address`,
      field('eth0')[0],
    );
    check(field('active')[0] === 'active active active', `${w} onepad, nftables, networkd active`, field('active')[0]);
    check(
      field('execstart')[0]?.includes('main.js device --config /etc/onepad/config.json') === true,
      `${w} the unit runs \`onepad device\` with the shipped command line`,
      field('execstart')[0],
    );
    check(field('user')[0] === 'onepad', `${w} onepad runs as user onepad`, field('user')[0]);
    check(field('restarts')[0] === '0', `${w} no restart (watchdog 600 s under TCG)`, field('restarts')[0]);
    check(Number(field('watchdog')[0]) > 0, `${w} systemd received watchdog pings`, field('watchdog')[0]);
    const status = JSON.parse(field('hrng-status')[0] || 'null') as {
      progress?: { poolBytes: number; insecure: boolean; sources: { kind: string; rawBytes: number; gate: string }[] };
      latch?: string | null;
      error?: unknown;
    } | null;
    const hw = status?.progress?.sources.find((s) => s.kind === 'hwrng');
    check(
      status?.progress !== undefined &&
        status.progress.poolBytes > 0 &&
        !status.progress.insecure &&
        (hw?.rawBytes ?? 0) > 0 &&
        status.latch === null &&
        status.error === null,
      `${w} the service fills the pool from /dev/hwrng, secure, nothing latched`,
      status?.progress
        ? `pool ${status.progress.poolBytes}, hwrng ${hw?.rawBytes} raw (${hw?.gate}), latch ${status.latch}, error ${JSON.stringify(status.error)}`
        : String(field('hrng-status')[0]),
    );
    const listening = field('listen');
    check(
      listening.length === 1 && new RegExp(`\\s${GUEST.replace(/\./g, '\\.')}:${RPC_PORT}\\s`).test(listening[0] ?? ''),
      `${w} only the RPC socket listens`,
      listening.join(' | '),
    );
    check((field('failed')[0] ?? '').trim() === '', `${w} no failed units`, field('failed')[0]);
    const got = probe(ns, [...CLOSED_PORTS, RPC_PORT]);
    for (const [i, port] of CLOSED_PORTS.entries()) {
      check(got[i] === 'timeout', `${w} port ${port} does not answer the laptop`, got[i]);
    }
    // Under TCG on an emulated Cortex-A53 the link server's HTTP answer can take longer than the probe's 5 s
    // ("silent": the TCP connection was made): either way the laptop reached the port the others refuse to connect.
    check(
      got.at(-1) === 'open' || got.at(-1) === 'silent',
      `${w} the RPC port accepts the laptop's connection (probe control)`,
      got.at(-1),
    );
  } catch (e) {
    check(false, `${w} the check ran to its end`, e instanceof Error ? e.message : String(e));
    if (guest) step(`${w} console tail:\n${guest.console().slice(-3000)}`);
  } finally {
    await guest?.stop();
    rmSync(sd, { force: true });
    try {
      sh('ip', 'netns', 'del', ns);
    } catch {
      // never made
    }
    step(`${w} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}

/** The raspi3b check for each named tree, one boot after the other, within `budgetMs` each. */
export async function raspi3bTest(p: Prepared, dtbs: readonly string[], budgetMs: number): Promise<void> {
  if (p.arch !== 'arm64') throw new Error('the raspi3b check boots the arm64 image');
  for (const dtb of dtbs) await bootOne(p, dtb, budgetMs);
}
