/**
 * The boot test (`npm run test:image [-- IMAGE]`, as root, after `npm run image`): boots **two** copies of the
 * image, each with its own Debian kernel (arm64: qemu-system-aarch64 -M virt under TCG; amd64:
 * qemu-system-x86_64 with KVM where it boots a kernel here, TCG otherwise), joined by one emulated cable, and
 * checks from the host:
 *
 * - pairing as the users do it: each guest's device service runs the device screen with simulated input
 *   (guest-device.mjs, a drop-in the test writes into its copy of the root fs; the image is not changed), which
 *   presses Pair, Start on one and Join on the other, and holds Match; both get the same pad, asking for pairing
 *   mode through the image's own path unit, helper and firewall; meanwhile the laptop on the cable gets nothing
 *   from either;
 * - then the cable is unplugged and a laptop plugged into each: a message packaged on one device for the other
 *   unpackages on the other, each way, through the link servers;
 * - a package/unpackage round trip with the laptop's own pad, each way (the laptop side offline on the host);
 * - nothing else listens: the guest's own `ss -ltnuw` (printed on the serial console by a report unit the test
 *   adds) shows only the RPC socket, and probes from the laptop to other ports get no answer;
 * - the service's user, state dir, watchdog, exposure score (the guest's own systemd-analyze), no failed unit,
 *   no account with a password; pairing mode opened and closed again by its own transient user.
 *
 * Network: each guest's NIC is a tap in a namespace of the test's own (qemu runs there), bridged with one end of
 * a veth pair whose other end is in the other guest's namespace: that veth is the cable. The laptop is the
 * bridge's address 10.254.0.2 in each namespace. Nothing else is wired; nothing leaves the namespaces. Every wait
 * is bounded; qemu is always killed and the namespaces removed. Prints its time.
 *
 * `-- --shipped` runs the shipped configuration on the amd64 image instead (test/image/shipped.ts), `-- --all`
 * both; `-- --raspi3b` boots the arm64 image's SD card on `-M raspi3b` instead (test/image/raspi3b.ts), with
 * `--raspi3b-plus` the 3 B+ tree as well.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { probeKvm } from '../powercut/vm.js';
import { ensureDebianPackages } from '../setup/debian-packages.js';
import {
  CLOSED_PORTS,
  check,
  cli,
  exposure,
  failures,
  GUEST,
  inNs,
  LAPTOP,
  type Prepared,
  probe,
  REPO,
  RPC_PORT,
  reportOf,
  sh,
  step,
  T0,
} from './common.js';
import {
  copyFromFat,
  extractPartition,
  type OverlayDir,
  type OverlayFile,
  partitions,
  readExt4,
  walk,
  writeExt4,
} from './disk.js';
import { radiosOffProblems } from './dtb-check.js';
import { type Arch, boot, consoleTty, type Guest } from './qemu.js';
import { raspi3bTest } from './raspi3b.js';
import { shippedTest } from './shipped.js';

type Which = 'two-device' | 'shipped' | 'all' | 'raspi3b';
/**
 * Each part's budget: the two-device test 40 minutes, the shipped configuration 20 (both under TCG); the raspi3b
 * check 30 minutes for each device tree it boots.
 */
const RASPI3B_MS = 30 * 60_000;
const budgetMs = (which: Which, trees = 1) =>
  which === 'raspi3b' ? trees * RASPI3B_MS : (which === 'two-device' ? 40 : which === 'shipped' ? 20 : 60) * 60_000;
const GUEST_DEVICE = join(REPO, 'test/image/guest-device.mjs');

interface Side {
  readonly key: 'a' | 'b';
  readonly name: string;
  readonly role: 'start' | 'join';
  readonly mac: string;
  readonly ns: string;
  readonly root: string;
  readonly padGuest: string;
  readonly padLaptop: string;
  guest?: Guest;
}

/** The test's additions to one copy of the root fs. */
function overlay(side: Side, uid: number, gid: number, arch: Arch, accel: 'kvm' | 'tcg') {
  const dropIn = [
    '# Boot test only: the device screen with simulated input and hardware, driven through pairing.',
    '[Service]',
    'ExecStart=',
    `ExecStart=/usr/bin/node --import /usr/lib/onepad/systemd/watchdog.mjs /usr/local/lib/onepad-boot-test/guest-device.mjs /etc/onepad/boot-test.json ${side.role}`,
    'StandardOutput=journal+console',
    'StandardError=journal+console',
    // Under TCG a guest runs tens of times slower than natively (far more on a loaded host): the watchdog then
    // means "the event loop never stalled 10 minutes". Under KVM the shipped period stays.
    // The same for the start: guest-device.mjs says READY=1 once the link serves, and under TCG at load 17-19 its
    // start took longer than the shipped 90 s (TimeoutStartSec), so every start was killed and restarted.
    ...(accel === 'tcg' ? ['WatchdogSec=600s', 'TimeoutStartSec=15min'] : []),
    '',
  ].join('\n');
  const config = {
    dataDir: '/var/lib/onepad',
    device: { name: side.name, simulated: true, ownerWord: 'lantern' },
    link: { address: GUEST, port: RPC_PORT, peer: LAPTOP },
    // A small pool and pad: under TCG every byte costs guest time. A seed of each device's own: with the same
    // simulated stream on both, the two contributions cancel and the pad is all zeros (the engine then refuses
    // every byte of it as burned: PAD_BURNED).
    hrng: { sources: [{ kind: 'simulated', seed: `${side.name}-${T0}` }], poolMaxBytes: 16_384 },
    display: { sink: 'sim', input: 'sim' },
    pairing: {
      interface: 'eth0',
      discoveryPort: 47_001,
      port: 47_002,
      modeRequest: '/run/onepad/pairing-request',
      chunkBytes: 4096,
      discoveryTimeoutMs: 1_200_000,
      ioTimeoutMs: 120_000,
      approvalTimeoutMs: 600_000,
    },
  };
  const report = readFileSync(join(REPO, 'test/image/report.sh'), 'utf8');
  const unit = [
    '[Unit]',
    'Description=onepad boot test report (boot test only)',
    'After=onepad.service',
    '[Service]',
    'Type=oneshot',
    'ExecStart=/usr/local/sbin/onepad-boot-test-report',
    'StandardOutput=tty',
    `TTYPath=/dev/${consoleTty(arch)}`,
    '',
  ].join('\n');
  const dirs: OverlayDir[] = [
    { path: '/etc/systemd/system/onepad.service.d', mode: 0o755 },
    { path: '/usr/local/lib/onepad-boot-test', mode: 0o755 },
    { path: '/var/lib/onepad', mode: 0o700, uid, gid },
  ];
  const files: OverlayFile[] = [
    { path: '/etc/systemd/system/onepad.service.d/boot-test.conf', content: dropIn, mode: 0o644 },
    { path: '/etc/onepad/boot-test.json', content: JSON.stringify(config, null, 2), mode: 0o644 },
    { path: '/usr/local/lib/onepad-boot-test/guest-device.mjs', from: GUEST_DEVICE, mode: 0o644 },
    { path: '/usr/local/sbin/onepad-boot-test-report', content: report, mode: 0o755 },
    { path: '/etc/systemd/system/onepad-boot-test-report.service', content: unit, mode: 0o644 },
  ];
  for (const e of walk(side.padGuest)) {
    const path = `/var/lib/onepad/${e.rel}`;
    if (e.dir) dirs.push({ path, mode: 0o700, uid, gid });
    else files.push({ path, from: join(side.padGuest, e.rel), mode: 0o600, uid, gid });
  }
  const links = [
    {
      path: '/etc/systemd/system/multi-user.target.wants/onepad-boot-test-report.service',
      target: '/etc/systemd/system/onepad-boot-test-report.service',
    },
  ];
  return { dirs, files, links };
}

/**
 * The emulated cable: in each side's namespace a tap (the guest's eth0) bridged with one end of the veth pair
 * that joins the two namespaces; the bridge holds the laptop's address. No IPv6 on the test's own interfaces.
 */
function wire(a: Side, b: Side): void {
  for (const s of [a, b]) sh('ip', 'netns', 'add', s.ns);
  sh(
    'ip',
    'link',
    'add',
    `obt${process.pid}a`,
    'netns',
    a.ns,
    'type',
    'veth',
    'peer',
    'name',
    `obt${process.pid}b`,
    'netns',
    b.ns,
  );
  for (const s of [a, b]) {
    const n = (x: string) => sh('ip', '-n', s.ns, ...x.split(' '));
    n(`link set obt${process.pid}${s.key} name cable`);
    n('link set lo up');
    n('tuntap add tap0 mode tap');
    n('link add br0 type bridge mcast_snooping 0');
    for (const dev of ['br0', 'tap0', 'cable']) inNs(s.ns, 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`);
    n('link set tap0 master br0');
    n('link set cable master br0');
    n(`addr add ${LAPTOP}/30 dev br0`);
    for (const dev of ['tap0', 'cable', 'br0']) n(`link set ${dev} up`);
  }
}

/** The last `ONEPAD-GUEST {...}` line of a guest with this step, once it appears. */
async function guestStep(s: Side, stepName: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const re = new RegExp(`ONEPAD-GUEST (\\{"step":"(?:${stepName}|error)"[^\\r\\n]*\\})`);
  const m = await (s.guest as Guest).waitFor(re, timeoutMs, `${s.name}: ${stepName}`);
  const o = JSON.parse(m[1] as string) as Record<string, unknown>;
  if (o.step === 'error') throw new Error(`${s.name}: ${String(o.error)}`);
  return o;
}

function checkReport(s: Side, field: (k: string) => string[]): void {
  const w = `${s.name}:`;
  check(field('active')[0] === 'active active active', `${w} onepad, nftables, networkd active`, field('active')[0]);
  check(field('user')[0] === 'onepad', `${w} onepad runs as user onepad`, field('user')[0]);
  check(field('restarts')[0] === '0', `${w} no restart (watchdog pings arrive)`, field('restarts')[0]);
  check(field('statedir')[0] === '700 onepad', `${w} state dir is 0700 onepad`, field('statedir')[0]);
  check(
    field('addr').some((a) => a.includes(`${GUEST}/30`)),
    `${w} eth0 has the link address`,
    field('addr')[0],
  );
  const listening = field('listen');
  const others = listening.filter(
    (l) => !new RegExp(`^tcp\\s+LISTEN\\s.*\\s${GUEST.replace(/\./g, '\\.')}:${RPC_PORT}\\s`).test(l),
  );
  check(listening.length === 1 && others.length === 0, `${w} only the RPC socket listens`, listening.join(' | '));
  check(Number(field('watchdog')[0]) > 0, `${w} systemd received watchdog pings`, field('watchdog')[0]);
  const modes = field('pairing-mode');
  check(
    modes[0] === 'pairing mode: open' && modes.at(-1) === 'pairing mode: close' && field('pairing-set')[0] === '0',
    `${w} pairing mode opened for the pairing and closed after it`,
    `${modes.join(', ')}; set elements ${field('pairing-set')[0]}`,
  );
  const uids = field('pairing-user').map((u) => /"_UID":"(\d+)"/.exec(u)?.[1]);
  check(
    uids.length > 0 && uids.every((u) => u !== undefined && Number(u) !== 0),
    `${w} the pairing-mode helper ran as its own user, never root`,
    uids.join(' '),
  );
  check((field('failed')[0] ?? '').trim() === '', `${w} no failed units`, field('failed')[0]);
  check(field('password').length === 0, `${w} no account has a password (guest)`, field('password').join(' '));
  const score = exposure(field('security')[0]);
  check(score !== undefined && Number(score) <= 2.0, `${w} exposure (guest's systemd-analyze security) <= 2.0`, score);
  const helper = exposure(field('security-pairing')[0]);
  check(helper !== undefined && Number(helper) <= 2.0, `${w} pairing helper's exposure <= 2.0`, helper);
}

async function prepare(image: string, arch: Arch, work: string): Promise<Prepared> {
  step(`image ${image} (${arch})`);
  const [bootPart, rootPart] = partitions(image);
  if (!bootPart || !rootPart) throw new Error('the image has no boot and root partitions');
  extractPartition(image, bootPart, join(work, 'boot.vfat'));
  const bootFiles = ['vmlinuz', 'initrd.img', 'cmdline.txt', ...(arch === 'arm64' ? ['config.txt'] : [])];
  copyFromFat(join(work, 'boot.vfat'), bootFiles, work);
  const rootExt4 = join(work, 'root.ext4');
  extractPartition(image, rootPart, rootExt4);
  step('partitions copied out; kernel and initrd taken from the boot partition');

  const passwd = readExt4(rootExt4, '/etc/passwd');
  const user = passwd.split('\n').find((l) => l.startsWith('onepad:'));
  check(user !== undefined && /:\/usr\/sbin\/nologin$/.test(user), 'image has the onepad system user', user);
  const [, , uid, gid] = (user ?? 'onepad:x:0:0').split(':').map((x, i) => (i >= 2 ? Number(x) : x));
  const shadow = readExt4(rootExt4, '/etc/shadow');
  const withPassword = shadow
    .split('\n')
    .filter((l) => l.includes(':') && !/^[^:]+:[!*]/.test(l))
    .map((l) => l.split(':')[0]);
  check(withPassword.length === 0, 'no account in the image has a password', withPassword.join(' '));
  if (arch === 'arm64') {
    const radios = radiosOffProblems(join(work, 'boot.vfat'), work);
    check(radios.length === 0, 'every Pi device tree shipped, Wi-Fi and Bluetooth disabled in each', radios.join('; '));
  }
  const cmdline = readFileSync(join(work, 'cmdline.txt'), 'utf8').trim();
  check(/\broot=LABEL=onepad-root\b/.test(cmdline), "the image's cmdline.txt boots the root by label", cmdline);

  const accel = arch === 'amd64' && (await probeKvm(join(work, 'vmlinuz'), work)) ? 'kvm' : 'tcg';
  return { image, arch, accel, work, cmdline, rootExt4, uid: uid as number, gid: gid as number };
}

/** The two-device test: pairing through both screens, then a laptop on each (see the top of this file). */
async function twoDevices(p: Prepared): Promise<void> {
  const { arch, accel, work, cmdline, rootExt4 } = p;
  const { uid, gid } = p;
  const sides: Side[] = (['a', 'b'] as const).map((key) => ({
    key,
    name: key === 'a' ? 'alice' : 'bob',
    role: key === 'a' ? 'start' : 'join',
    mac: key === 'a' ? '52:54:00:0e:00:0a' : '52:54:00:0e:00:0b',
    ns: `onepad-bt${process.pid}-${key}`,
    root: join(work, `root-${key}.ext4`),
    padGuest: join(work, `pad-${key}-guest`),
    padLaptop: join(work, `pad-${key}-laptop`),
  }));
  const [a, b] = sides as [Side, Side];
  try {
    for (const s of sides) {
      cli(
        ['pad', 'create-pair', '--a', s.padGuest, '--b', s.padLaptop, '--name-a', s.name, '--name-b', 'laptop'].concat([
          '--size',
          '1M',
          '--seed',
          `boot-test-${T0}-${s.key}`,
        ]),
      );
      copyFileSync(rootExt4, s.root);
      writeExt4(s.root, work, overlay(s, uid as number, gid as number, arch, accel));
    }
    step('two root copies with the test overlay: guest-device drop-in, sim config, laptop pad side, report unit');

    wire(a, b);
    const append = cmdline
      .split(/\s+/)
      .filter((x) => !/^(console=|quiet$|loglevel=|systemd\.show_status=)/.test(x))
      // PID 1's own notices (a unit failing, a watchdog timeout) on the console too.
      .concat([
        `console=${consoleTty(arch)}`,
        'panic=-1',
        'systemd.show_status=true',
        'systemd.log_target=kmsg',
        'systemd.log_level=notice',
      ])
      .join(' ');
    for (const s of sides) {
      const consoleLog = join(REPO, `image/.cache/boot-test-console-${s.name}.log`);
      rmSync(consoleLog, { force: true });
      s.guest = boot({
        arch,
        accel,
        kernel: join(work, 'vmlinuz'),
        initrd: join(work, 'initrd.img'),
        rootDisk: s.root,
        append,
        netns: s.ns,
        tap: 'tap0',
        mac: s.mac,
        consoleLog,
      });
    }
    step(`two guests started (${arch}, ${accel}); consoles image/.cache/boot-test-console-{alice,bob}.log`);
    const left = () => budgetMs('two-device') - (Date.now() - T0) - 3 * 60_000;
    for (const s of sides) await s.guest?.waitFor(/Linux version \S+/, 5 * 60_000, `${s.name}: the kernel`);
    step('kernels booting');
    for (const s of sides) step(`${s.name}: ${JSON.stringify(await guestStep(s, 'listening', left()))}`);

    // Pairing, driven on both screens; the laptop is on the cable too and must get nothing meanwhile.
    const [ca, cb] = await Promise.all([guestStep(a, 'compare', left()), guestStep(b, 'compare', left())]);
    check(
      typeof ca.fingerprint === 'string' && ca.fingerprint === cb.fingerprint,
      'both screens show the same fingerprint',
      `${ca.fingerprint} / ${cb.fingerprint}`,
    );
    const during = probe(a.ns, [RPC_PORT]);
    check(during[0] === 'timeout', 'in pairing mode the link server does not answer the laptop', during[0]);
    const [pa, pb] = await Promise.all([
      guestStep(a, 'paired|not-paired', left()),
      guestStep(b, 'paired|not-paired', left()),
    ]);
    const padA = (pa.pads as Record<string, unknown>[]).find((p) => p.contact === 'bob');
    const padB = (pb.pads as Record<string, unknown>[]).find((p) => p.contact === 'alice');
    check(
      pa.step === 'paired' &&
        pb.step === 'paired' &&
        padA?.state === 'active' &&
        padB?.state === 'active' &&
        padA?.padId === padB?.padId,
      'alice and bob paired: one active pad on both',
      `${JSON.stringify(padA)} / ${JSON.stringify(padB)}`,
    );

    // Unplug the cable; each device now has its laptop only.
    for (const s of sides) sh('ip', '-n', s.ns, 'link', 'set', 'cable', 'down');
    step('cable between the devices unplugged; a laptop on each');
    const fields = await Promise.all(sides.map((s) => reportOf(s.guest as Guest, s.name, left())));
    for (const [i, s] of sides.entries()) checkReport(s, fields[i] as (k: string) => string[]);

    const url = ['--url', `http://${GUEST}:${RPC_PORT}`, '--timeout', '300000'];
    const t1 = Date.now();
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const text = `from ${from.name} to ${to.name} ${T0}`;
      const pkg = cli(['package', ...url, '--to', to.name, text], from.ns);
      const opened = cli(['unpackage', ...url, pkg], to.ns);
      check(
        opened.includes(`from: ${from.name}`) && opened.includes(`text: ${text}`),
        `${from.name}'s laptop to ${to.name}'s over the pairing pad`,
        opened.split('\n').slice(0, 2).join(' '),
      );
    }
    for (const s of sides) {
      const sent = `hello from ${s.name} ${T0}`;
      const pkg = cli(['package', ...url, '--to', 'laptop', sent], s.ns);
      const opened = cli(['offline', 'unpackage', '--dir', s.padLaptop, pkg]);
      check(opened === `from ${s.name} (INSECURE pad): ${sent}`, `${s.name} packages, its laptop unpackages`, opened);
      const reply = `hello from ${s.name}'s laptop ${T0}`;
      const back = cli(['offline', 'package', '--dir', s.padLaptop, '--to', s.name, reply]);
      const r = cli(['unpackage', ...url, back], s.ns);
      check(
        r.includes('from: laptop') && r.includes(`text: ${reply}`),
        `${s.name}'s laptop packages, ${s.name} unpackages`,
        r.split('\n').slice(0, 2).join(' '),
      );
    }
    step(`messages through the emulated links in ${((Date.now() - t1) / 1000).toFixed(1)} s`);

    for (const s of sides) {
      const got = probe(s.ns, [...CLOSED_PORTS, RPC_PORT]);
      for (const [i, port] of CLOSED_PORTS.entries()) {
        check(got[i] === 'timeout', `${s.name}: port ${port} does not answer the laptop`, got[i]);
      }
      check(got.at(-1) === 'open', `${s.name}: the RPC port does answer (probe control)`, got.at(-1));
    }
  } catch (e) {
    failures.push(e instanceof Error ? e.message : String(e));
    step(`error: ${e instanceof Error ? e.message : String(e)}`);
    for (const s of sides) if (s.guest) step(`${s.name} console tail:\n${s.guest.console().slice(-3000)}`);
  } finally {
    await Promise.all(sides.map((s) => s.guest?.stop()));
    for (const s of sides) {
      try {
        sh('ip', 'netns', 'del', s.ns);
      } catch {
        // never made
      }
    }
  }
}

async function main(): Promise<number> {
  const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string;
  const wanted = (process.env.ONEPAD_IMAGE_ARCH ?? 'arm64') as Arch;
  const flags = process.argv.slice(2).filter((x) => x.startsWith('--'));
  const unknown = flags.filter((f) => !['--shipped', '--all', '--raspi3b', '--raspi3b-plus'].includes(f));
  if (unknown.length > 0) {
    step(`unknown option ${unknown.join(' ')}: [--shipped | --all | --raspi3b [--raspi3b-plus]] [IMAGE]`);
    return 2;
  }
  const which: Which = flags.includes('--raspi3b')
    ? 'raspi3b'
    : flags.includes('--all')
      ? 'all'
      : flags.includes('--shipped')
        ? 'shipped'
        : 'two-device';
  const trees = ['bcm2837-rpi-3-b', ...(flags.includes('--raspi3b-plus') ? ['bcm2837-rpi-3-b-plus'] : [])];
  const image =
    process.argv.slice(2).find((x) => !x.startsWith('--')) ??
    join(REPO, 'image/out', `onepad-${version}-${wanted}.img`);
  const arch: Arch = /-amd64\.img$/.test(image) ? 'amd64' : 'arm64';
  if (!existsSync(image)) {
    step(
      `no image at ${image}: build it first with \`${arch === 'amd64' ? 'ONEPAD_IMAGE_ARCH=amd64 ' : ''}npm run image\``,
    );
    return 2;
  }
  if (process.getuid?.() !== 0) {
    step('run as root (debugfs writes the overlay into copies of the root file system; namespaces, taps)');
    return 2;
  }
  if ((which === 'shipped' || which === 'all') && arch !== 'amd64') {
    step('the shipped-configuration boot test runs on the amd64 image (ONEPAD_IMAGE_ARCH=amd64)');
    return 2;
  }
  if (which === 'raspi3b' && arch !== 'arm64') {
    step('the raspi3b check boots the arm64 image');
    return 2;
  }
  ensureDebianPackages(join(REPO, `test/image/apt-packages-${arch}`), step);
  const work = mkdtempSync(join(REPO, 'image/.cache/boot-test-'));
  const budget = budgetMs(which, trees.length);
  const watchdog = setTimeout(() => {
    step('boot test exceeded its budget');
    process.exit(1);
  }, budget + 60_000);
  watchdog.unref();
  try {
    const p = await prepare(image, arch, work);
    if (which === 'raspi3b') await raspi3bTest(p, trees, RASPI3B_MS);
    else {
      if (which !== 'shipped') await twoDevices(p);
      if (which !== 'two-device') await shippedTest(p);
    }
  } catch (e) {
    failures.push(e instanceof Error ? e.message : String(e));
    step(`error: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    if (!process.env.ONEPAD_KEEP_BOOT_TEST) rmSync(work, { recursive: true, force: true });
  }
  const total = (Date.now() - T0) / 1000;
  step(
    `boot test (${basename(image)}) ${failures.length === 0 ? 'PASSED' : `FAILED (${failures.join('; ')})`} in ${total.toFixed(0)} s`,
  );
  return failures.length === 0 && total * 1000 <= budget ? 0 : 1;
}

process.exitCode = await main();
