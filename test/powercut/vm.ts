/**
 * One boot of the power-cut guest: qemu-system-x86_64 (KVM when it really boots a kernel here, TCG otherwise) with no
 * network device at all (-nodefaults -nic none), Debian's kernel and initrd, four virtio disks (root and app
 * read-only, data, inbox read-only) and one virtio-serial port whose output qemu appends to a host file.
 *
 * The data disk, by {@link DiskMode}:
 * - `direct`: the raw image file, cache=none (O_DIRECT on the host, no host page cache). The guest sees a disk with
 *   a volatile write cache (it sends FLUSH on fsync, qemu turns each into fdatasync). SIGKILL of qemu loses what the
 *   guest kernel had not yet handed to the disk; every write the disk completed survives.
 * - `volatile`: the image behind nbdkit's cache filter in writeback mode over a unix socket: writes stay in
 *   nbdkit's cache until the guest flushes; nbdkit is SIGKILLed with qemu, so every write since the last flush is
 *   lost, as on an SD card or USB SSD with a volatile cache that honours flushes.
 * - `lying`: the same with cache=unsafe: flushes are ignored, so a cut loses everything since the boot began, as
 *   on a device that acknowledges flushes it never performs. The checks are expected to find breakage here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export type DiskMode = 'direct' | 'volatile' | 'lying';
export const DISK_MODES: readonly DiskMode[] = ['direct', 'volatile', 'lying'];

/** What to boot. */
export interface BootOptions {
  readonly kernel: string;
  readonly initrd: string;
  readonly rootDisk: string;
  readonly appDisk: string;
  readonly dataDisk: string;
  readonly inboxDisk: string;
  readonly mode: DiskMode;
  readonly accel: 'kvm' | 'tcg';
  /** Directory for the port log, console log and nbdkit socket of this boot. */
  readonly dir: string;
  readonly memoryMb?: number;
}

/** A running boot. */
export interface Boot {
  /** The port log so far (what left the guest). */
  port(): string;
  readonly accel: 'kvm' | 'tcg';
  /** Power off hard: SIGKILL qemu (and nbdkit, losing its cache), and wait for both to be gone. */
  cut(): Promise<void>;
  /** Resolves when qemu exits. */
  readonly exited: Promise<number | null>;
  /** True once qemu has exited. */
  exitedNow(): boolean;
  /** What qemu wrote to stderr. */
  stderr(): string;
}

/** True when this process can open /dev/kvm (whether KVM really runs a kernel is {@link probeKvm}'s question). */
export function kvmOpenable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether KVM boots this kernel: some hosts (nested virtualization) expose /dev/kvm yet hang as soon as the
 * kernel leaves real mode. Boots the kernel alone with KVM and waits up to `timeoutMs` for its banner.
 */
export async function probeKvm(kernel: string, dir: string, timeoutMs = 10_000): Promise<boolean> {
  if (!kvmOpenable()) return false;
  const con = join(dir, 'kvm-probe.log');
  rmSync(con, { force: true });
  const q = spawn(
    'qemu-system-x86_64',
    [
      '-nodefaults',
      '-no-user-config',
      '-nographic',
      '-nic',
      'none',
      '-machine',
      'pc,accel=kvm',
      '-cpu',
      'host',
      '-m',
      '256',
      '-monitor',
      'none',
      '-serial',
      `file:${con}`,
      '-kernel',
      kernel,
      '-append',
      'console=ttyS0 earlyprintk=ttyS0 panic=-1',
      '-no-reboot',
    ],
    { stdio: 'ignore' },
  );
  const t0 = Date.now();
  let ok = false;
  while (Date.now() - t0 < timeoutMs && q.exitCode === null) {
    if (existsSync(con) && readFileSync(con, 'utf8').includes('Linux version')) {
      ok = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  q.kill('SIGKILL');
  await waitExit(q);
  return ok;
}

function waitExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function startNbdkit(o: BootOptions): Promise<{ child: ChildProcess; socket: string }> {
  const socket = join(o.dir, 'nbd.sock');
  rmSync(socket, { force: true });
  const child = spawn(
    'nbdkit',
    [
      '--foreground',
      '--exit-with-parent',
      '-U',
      socket,
      '--filter=cache',
      'file',
      o.dataDisk,
      `cache=${o.mode === 'lying' ? 'unsafe' : 'writeback'}`,
      'cache-min-block-size=4096',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TMPDIR: o.dir } },
  );
  const t0 = Date.now();
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`nbdkit exited (${child.exitCode})`);
    if (Date.now() - t0 > 10_000) throw new Error('nbdkit did not create its socket');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, socket };
}

/** Boot the guest. The caller must {@link Boot.cut} it. */
export async function boot(o: BootOptions): Promise<Boot> {
  const accel = o.accel;
  const portLog = join(o.dir, 'port.log');
  const nbd = o.mode === 'direct' ? null : await startNbdkit(o);
  const dataDrive =
    nbd === null
      ? `file=${o.dataDisk},format=raw,if=none,id=data,cache=none,aio=threads`
      : `file=nbd:unix:${nbd.socket},format=raw,if=none,id=data,cache=writeback`;
  const disk = (id: string, file: string) => [
    '-drive',
    `file=${file},format=raw,if=none,id=${id},readonly=on`,
    '-device',
    `virtio-blk-pci,drive=${id}`,
  ];
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-nic',
    'none',
    '-machine',
    `pc,accel=${accel}`,
    '-cpu',
    'max',
    '-smp',
    '1',
    '-m',
    String(o.memoryMb ?? 512),
    '-no-reboot',
    '-monitor',
    'none',
    '-serial',
    `file:${join(o.dir, 'console.log')}`,
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    'root=/dev/vda ro init=/sbin/onepad-powercut-init console=ttyS0 quiet loglevel=3 panic=-1 rootwait',
    ...disk('root', o.rootDisk),
    ...disk('app', o.appDisk),
    '-drive',
    dataDrive,
    '-device',
    'virtio-blk-pci,drive=data',
    ...disk('inbox', o.inboxDisk),
    '-device',
    'virtio-serial-pci',
    '-chardev',
    `file,id=pc,path=${portLog}`,
    '-device',
    'virtserialport,chardev=pc,name=onepad.powercut',
  ];
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  qemu.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const killAll = () => {
    qemu.kill('SIGKILL');
    nbd?.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const exited = waitExit(qemu);
  return {
    accel,
    port: () => (existsSync(portLog) ? readFileSync(portLog, 'utf8') : ''),
    exited,
    stderr: () => stderr,
    exitedNow: () => qemu.exitCode !== null || qemu.signalCode !== null,
    async cut() {
      // nbdkit first: its cache must die with the power, never be written back on a client disconnect.
      nbd?.child.kill('SIGKILL');
      qemu.kill('SIGKILL');
      await exited;
      if (nbd) await waitExit(nbd.child);
      process.off('exit', killAll);
    },
  };
}
