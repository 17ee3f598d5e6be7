/**
 * The boot test (`npm run test:image`, as root, after `npm run image`): boots the image's root file system with
 * its own Debian kernel under qemu-system-aarch64 (-M virt, TCG) and checks, from the host:
 *
 * - onepad.service comes up as user onepad with its 0700 state dir, behind the image's nftables firewall and
 *   systemd-networkd link address, in simulated-hardware mode (a drop-in the test writes into its copy of the
 *   root fs: `--sim --auto-approve` and a simulated config; the image itself is not changed);
 * - a package/unpackage round trip through the emulated link: the guest packages a message that the host
 *   unpackages offline with the other side of the pad, and unpackages one the host packaged;
 * - nothing else listens: the guest's own `ss -ltnuw` (printed on the serial console by a report unit the test
 *   adds) shows only the RPC socket, and forwarded probes to other guest ports get no answer;
 * - no account has a password; the service's exposure score as measured by the guest's own systemd.
 *
 * Networking is qemu user-mode only (restrict=on: the guest reaches nothing), host side bound to 127.0.0.1;
 * slirp plays the laptop at 10.254.0.2. Every wait is bounded; qemu is always killed. Prints its time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinkClient } from '../../rpc/client.js';
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
import { boot, freePort, type Guest } from './qemu.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const T0 = Date.now();
const BUDGET_MS = 30 * 60_000;
const secs = () => ((Date.now() - T0) / 1000).toFixed(0);
const step = (msg: string) => process.stdout.write(`[boot-test +${secs()}s] ${msg}\n`);
const failures: string[] = [];
function check(ok: boolean, what: string, detail = ''): void {
  step(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures.push(what);
}

const GUEST = '10.254.0.1';
const LAPTOP = '10.254.0.2';
const RPC_PORT = 4747;
/** Guest ports that must not answer: ssh, http, pairing (not in pairing mode), and one more. */
const CLOSED_PORTS = [22, 80, 4748, 4750];

function cli(args: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', 'device/service/main.ts', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
  }).trim();
}

/** The test's additions to its copy of the root fs. */
function overlay(uid: number, gid: number, padDir: string) {
  const dropIn = [
    '# Boot test only: simulated hardware, automatic approval.',
    '[Service]',
    'ExecStart=',
    'ExecStart=/usr/bin/node --import /usr/lib/onepad/systemd/watchdog.mjs /usr/lib/onepad/dist/device/service/main.js device --config /etc/onepad/boot-test.json --sim --auto-approve',
    '',
  ].join('\n');
  const config = {
    dataDir: '/var/lib/onepad',
    device: { name: 'guest', simulated: true },
    link: { address: GUEST, port: RPC_PORT, peer: LAPTOP },
    hrng: { sources: [{ kind: 'simulated' }] },
    display: { sink: 'sim', input: 'sim' },
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
    'TTYPath=/dev/ttyAMA0',
    '',
  ].join('\n');
  const dirs: OverlayDir[] = [
    { path: '/etc/systemd/system/onepad.service.d', mode: 0o755 },
    { path: '/var/lib/onepad', mode: 0o700, uid, gid },
  ];
  const files: OverlayFile[] = [
    { path: '/etc/systemd/system/onepad.service.d/boot-test.conf', content: dropIn, mode: 0o644 },
    { path: '/etc/onepad/boot-test.json', content: JSON.stringify(config, null, 2), mode: 0o644 },
    { path: '/usr/local/sbin/onepad-boot-test-report', content: report, mode: 0o755 },
    { path: '/etc/systemd/system/onepad-boot-test-report.service', content: unit, mode: 0o644 },
  ];
  for (const e of walk(padDir)) {
    const path = `/var/lib/onepad/${e.rel}`;
    if (e.dir) dirs.push({ path, mode: 0o700, uid, gid });
    else files.push({ path, from: join(padDir, e.rel), mode: 0o600, uid, gid });
  }
  const links = [
    {
      path: '/etc/systemd/system/multi-user.target.wants/onepad-boot-test-report.service',
      target: '/etc/systemd/system/onepad-boot-test-report.service',
    },
  ];
  return { dirs, files, links };
}

/** Send a line to a forwarded port; resolve with whatever came back within `ms`. */
function probe(port: number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = connect({ host: '127.0.0.1', port });
    const done = () => {
      s.destroy();
      resolve(got);
    };
    s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', (b) => {
      got += b.toString('latin1');
    });
    s.on('error', done);
    s.on('close', done);
    setTimeout(done, ms);
  });
}

async function main(): Promise<number> {
  const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string;
  const image = process.argv[2] ?? join(REPO, 'image/out', `onepad-${version}-arm64.img`);
  if (!existsSync(image)) {
    step(`no image at ${image}: build it first with \`npm run image\``);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    step('run as root (debugfs writes the test overlay into a copy of the root file system)');
    return 2;
  }
  const work = mkdtempSync(join(REPO, 'image/.cache/boot-test-'));
  let guest: Guest | undefined;
  try {
    step(`image ${image}`);
    const [bootPart, rootPart] = partitions(image);
    if (!bootPart || !rootPart) throw new Error('the image has no boot and root partitions');
    extractPartition(image, bootPart, join(work, 'boot.vfat'));
    copyFromFat(join(work, 'boot.vfat'), ['vmlinuz', 'initrd.img', 'cmdline.txt', 'config.txt'], work);
    extractPartition(image, rootPart, join(work, 'root.ext4'));
    step('partitions copied out; kernel and initrd taken from the boot partition');

    const passwd = readExt4(join(work, 'root.ext4'), '/etc/passwd');
    const user = passwd.split('\n').find((l) => l.startsWith('onepad:'));
    check(user !== undefined && /:\/usr\/sbin\/nologin$/.test(user), 'image has the onepad system user', user);
    const [, , uid, gid] = (user ?? 'onepad:x:0:0').split(':').map((x, i) => (i >= 2 ? Number(x) : x));
    const shadow = readExt4(join(work, 'root.ext4'), '/etc/shadow');
    const withPassword = shadow
      .split('\n')
      .filter((l) => l.includes(':') && !/^[^:]+:[!*]/.test(l))
      .map((l) => l.split(':')[0]);
    check(withPassword.length === 0, 'no account in the image has a password', withPassword.join(' '));
    const radios = radiosOffProblems(join(work, 'boot.vfat'), work);
    check(radios.length === 0, 'every Pi device tree shipped, Wi-Fi and Bluetooth disabled in each', radios.join('; '));

    const padA = join(work, 'pad-guest');
    const padB = join(work, 'pad-laptop');
    cli(
      ['pad', 'create-pair', '--a', padA, '--b', padB, '--name-a', 'guest', '--name-b', 'laptop'].concat([
        '--size',
        '1M',
        '--seed',
        `boot-test-${T0}`,
      ]),
    );
    writeExt4(join(work, 'root.ext4'), work, overlay(uid as number, gid as number, padA));
    step('test overlay written: sim drop-in, sim config, pad side A, report unit');

    const rpcPort = await freePort();
    const closed = await Promise.all(CLOSED_PORTS.map(async (guestPort) => ({ guestPort, host: await freePort() })));
    const cmdline = readFileSync(join(work, 'cmdline.txt'), 'utf8').trim();
    check(/\broot=LABEL=onepad-root\b/.test(cmdline), "the image's cmdline.txt boots the root by label", cmdline);
    const append = cmdline
      .split(/\s+/)
      .filter((a) => !/^(console=|quiet$|loglevel=|systemd\.show_status=)/.test(a))
      .concat(['console=ttyAMA0', 'panic=-1', 'systemd.show_status=true'])
      .join(' ');
    guest = boot({
      kernel: join(work, 'vmlinuz'),
      initrd: join(work, 'initrd.img'),
      rootDisk: join(work, 'root.ext4'),
      append,
      forwards: [{ host: rpcPort, guest: RPC_PORT }, ...closed.map((c) => ({ host: c.host, guest: c.guestPort }))],
      guestAddress: GUEST,
      hostAddress: LAPTOP,
      net: '10.254.0.0/24',
      consoleLog: join(REPO, 'image/.cache/boot-test-console.log'),
    });
    step(`qemu started (-M virt, TCG); console log image/.cache/boot-test-console.log; append: ${append}`);
    await guest.waitFor(/Linux version \S+/, 5 * 60_000, 'the kernel');
    step('kernel booting');
    await guest.waitFor(/systemd\[1\]|Welcome to/, 10 * 60_000, 'systemd');
    step('systemd running');
    const m = await guest.waitFor(
      /ONEPAD-REPORT-BEGIN([\s\S]*?)ONEPAD-REPORT-END/,
      BUDGET_MS - (Date.now() - T0) - 5 * 60_000,
      'the report',
    );
    const report = (m[1] ?? '').replace(/\r/g, '');
    step(`guest report:\n${report.trim()}`);
    const lines = report.split('\n').map((l) => l.trim());
    const field = (k: string) => lines.filter((l) => l.startsWith(`${k}: `)).map((l) => l.slice(k.length + 2));

    check(field('active')[0] === 'active active active', 'onepad, nftables, networkd active', field('active')[0]);
    check(field('user')[0] === 'onepad', 'onepad runs as user onepad', field('user')[0]);
    check(field('restarts')[0] === '0', 'no restart (watchdog pings arrive under emulation)', field('restarts')[0]);
    check(field('statedir')[0] === '700 onepad', 'state dir is 0700 onepad', field('statedir')[0]);
    check(
      field('addr').some((a) => a.includes(`${GUEST}/30`)),
      'eth0 has the link address',
      field('addr').join(' '),
    );
    const listening = field('listen');
    const others = listening.filter(
      (l) => !new RegExp(`^tcp\\s+LISTEN\\s.*\\s${GUEST.replace(/\./g, '\\.')}:${RPC_PORT}\\s`).test(l),
    );
    check(listening.length === 1 && others.length === 0, 'only the RPC socket listens', listening.join(' | '));
    check(Number(field('watchdog')[0]) > 0, 'systemd received watchdog pings', field('watchdog')[0]);
    check(
      field('pairing')[0] === 'before=0 after="eth0" timeout 10m',
      'a pairing request opens the pairing port',
      field('pairing')[0],
    );
    check((field('failed')[0] ?? '').trim() === '', 'no failed units', field('failed')[0]);
    check(field('password').length === 0, 'no account has a password (guest)', field('password').join(' '));
    const score = /exposure level for \S+: ([0-9.]+)/.exec(field('security')[0] ?? '')?.[1];
    check(score !== undefined && Number(score) <= 2.0, "exposure (guest's systemd-analyze security) <= 2.0", score);

    // Through the port forward: name the device's own link address and port, as the device requires.
    const client = new LinkClient({
      url: `http://127.0.0.1:${rpcPort}`,
      timeoutMs: 300_000,
      hostHeader: `${GUEST}:${RPC_PORT}`,
    });
    const t1 = Date.now();
    const sent = `hello from the guest ${T0}`;
    const pkg = await client.package('laptop', { text: sent });
    const opened = cli(['offline', 'unpackage', '--dir', padB, pkg.package]);
    check(opened === `from guest (INSECURE pad): ${sent}`, 'guest packages, host unpackages', opened);
    const reply = `hello from the laptop ${T0}`;
    const back = cli(['offline', 'package', '--dir', padB, '--to', 'guest', reply]);
    const r = await client.unpackage(back);
    check(r.text === reply && r.contact === 'laptop', 'host packages, guest unpackages', `${r.contact}: ${r.text}`);
    step(`round trip through the emulated link in ${((Date.now() - t1) / 1000).toFixed(1)} s`);

    const answers = await Promise.all(closed.map(async (c) => ({ ...c, got: await probe(c.host, 3000) })));
    for (const a of answers) check(a.got === '', `guest port ${a.guestPort} does not answer`, JSON.stringify(a.got));
    const rpc = await probe(rpcPort, 5000);
    check(/^HTTP\/1\.[01] \d{3}/.test(rpc), 'the RPC port does answer (probe control)', rpc.split('\r\n')[0]);
  } catch (e) {
    failures.push(e instanceof Error ? e.message : String(e));
    step(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (guest) step(`console tail:\n${guest.console().slice(-4000)}`);
  } finally {
    await guest?.stop();
    if (!process.env.ONEPAD_KEEP_BOOT_TEST) rmSync(work, { recursive: true, force: true });
  }
  const total = (Date.now() - T0) / 1000;
  step(`boot test ${failures.length === 0 ? 'PASSED' : `FAILED (${failures.join('; ')})`} in ${total.toFixed(0)} s`);
  return failures.length === 0 && total * 1000 <= BUDGET_MS ? 0 : 1;
}

const watchdog = setTimeout(() => {
  step('boot test exceeded 30 minutes');
  process.exit(1);
}, BUDGET_MS + 60_000);
watchdog.unref();
process.exitCode = await main();
