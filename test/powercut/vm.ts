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
import { accessSync, constants, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Qmp } from './qmp.js';

export type DiskMode = 'direct' | 'volatile' | 'lying';
export const DISK_MODES: readonly DiskMode[] = ['direct', 'volatile', 'lying'];

/** The machine, the same for the snapshot and every boot restored from it. */
export interface MachineOptions {
  readonly kernel: string;
  readonly initrd: string;
  readonly rootDisk: string;
  readonly appDisk: string;
  readonly accel: 'kvm' | 'tcg';
  readonly memoryMb?: number;
}

/** One boot: the machine restored from its snapshot, then the data and inbox disks plugged in. */
export interface BootOptions extends MachineOptions {
  readonly snapshot: string;
  readonly dataDisk: string;
  readonly inboxDisk: string;
  readonly mode: DiskMode;
  /** Directory for the port log, QMP socket and nbdkit socket of this boot. */
  readonly dir: string;
}

/** A running boot. */
export interface Boot {
  /** The port log so far (what left the guest). */
  port(): string;
  /** Power off hard: SIGKILL qemu (and nbdkit, losing its cache), and wait for both to be gone. */
  cut(): Promise<void>;
  /** Resolves when qemu exits. */
  readonly exited: Promise<number | null>;
  /** True once qemu has exited. */
  exitedNow(): boolean;
  /** What qemu wrote to stderr. */
  stderr(): string;
}

function waitExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function startNbdkit(o: {
  dir: string;
  dataDisk: string;
  mode: DiskMode;
}): Promise<{ child: ChildProcess; socket: string }> {
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
 * Whether KVM boots this kernel: some hosts expose /dev/kvm yet cannot run it (this machine's kvm-pvm, a nested
 * hypervisor without hardware support, runs only kernels built as PVM guests and stops Debian's kernel as soon as
 * it leaves real mode). Boots the kernel alone with KVM and waits up to `timeoutMs` for its banner.
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
      'qemu64',
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

/** Bump when {@link machineArgs} or the saved state's contents change: saved states are cached by it. */
export const MACHINE_REV = 2;

/** The qemu arguments of the machine without its data disks (identical for snapshot and restore). */
function machineArgs(o: MachineOptions, portLog: string, qmpSocket: string, consoleLog: string): string[] {
  const disk = (id: string, file: string) => [
    '-drive',
    `file=${file},format=raw,if=none,id=${id},readonly=on`,
    '-device',
    `virtio-blk-pci,drive=${id}`,
  ];
  return [
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-nic',
    'none',
    '-machine',
    `pc,accel=${o.accel}`,
    '-cpu',
    // V8's WebAssembly SIMD (the entropy gate's kernels, hrng/kernels.ts) needs SSSE3 and SSE4.1 on x86-64, which
    // plain qemu64 lacks; every arm64 CPU the device runs on has NEON.
    'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt',
    '-smp',
    '1',
    '-m',
    String(o.memoryMb ?? 384),
    '-no-reboot',
    '-monitor',
    'none',
    '-qmp',
    `unix:${qmpSocket},server=on,wait=off`,
    '-serial',
    `file:${consoleLog}`,
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    'root=/dev/vda ro init=/sbin/onepad-powercut-init console=ttyS0 quiet loglevel=3 panic=-1 rootwait',
    ...disk('root', o.rootDisk),
    ...disk('app', o.appDisk),
    '-device',
    'virtio-serial-pci',
    '-chardev',
    `file,id=pc,path=${portLog}`,
    '-device',
    'virtserialport,chardev=pc,name=onepad.powercut',
  ];
}

function startQemu(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return { child, stderr: () => err };
}

async function waitFor(what: string, ms: number, ok: () => boolean, dead: () => boolean): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (dead()) throw new Error(`qemu exited while waiting for ${what}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Boot the machine cold (kernel, initrd, root and app disks, no data disk) until the guest program is loaded and
 * says "ready" (it then waits for its disks), and save the whole machine state to `statePath`: every later boot
 * restores it instead of booting the kernel again. The data disk is not attached yet, so nothing of it is in the
 * saved state; each restored boot meets its data disk for the first time, as after a power-on.
 *
 * @throws Error when the guest does not get ready in `timeoutMs` or the migration fails
 */
export async function makeSnapshot(
  o: MachineOptions,
  dir: string,
  statePath: string,
  timeoutMs: number,
): Promise<void> {
  const portLog = join(dir, 'snapshot-port.log');
  const qmpSocket = join(dir, 'snapshot-qmp.sock');
  rmSync(portLog, { force: true });
  const q = startQemu(machineArgs(o, portLog, qmpSocket, join(dir, 'snapshot-console.log')));
  const dead = () => q.child.exitCode !== null || q.child.signalCode !== null;
  try {
    await waitFor(
      'the guest program to get ready',
      timeoutMs,
      () => existsSync(portLog) && readFileSync(portLog, 'utf8').includes('"t":"ready"'),
      dead,
    );
    const qmp = await Qmp.connect(qmpSocket);
    await qmp.cmd('stop');
    const tmp = `${statePath}.tmp`;
    await qmp.cmd('migrate', { uri: `exec:cat > ${tmp}` });
    for (;;) {
      const st = (await qmp.cmd('query-migrate')) as { status?: string; 'error-desc'?: string };
      if (st.status === 'completed') break;
      if (st.status === 'failed') throw new Error(`migration failed: ${st['error-desc'] ?? ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    renameSync(tmp, statePath);
    qmp.close();
  } catch (e) {
    throw new Error(`${(e as Error).message}; qemu: ${q.stderr()}`);
  } finally {
    q.child.kill('SIGKILL');
    await waitExit(q.child);
  }
}

/** Restore the machine from its snapshot and plug in the data and inbox disks. The caller must {@link Boot.cut} it. */
export async function boot(o: BootOptions): Promise<Boot> {
  const portLog = join(o.dir, 'port.log');
  const qmpSocket = join(o.dir, 'qmp.sock');
  const nbd = o.mode === 'direct' ? null : await startNbdkit(o);
  const q = startQemu([
    ...machineArgs(o, portLog, qmpSocket, join(o.dir, 'console.log')),
    '-incoming',
    `exec:cat ${o.snapshot}`,
  ]);
  const qemu = q.child;
  const killAll = () => {
    nbd?.child.kill('SIGKILL');
    qemu.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const exited = waitExit(qemu);
  const dead = () => qemu.exitCode !== null || qemu.signalCode !== null;
  try {
    const qmp = await Qmp.connect(qmpSocket);
    // The state was saved stopped, so the restored machine waits paused once loaded: start it.
    for (;;) {
      const st = (await qmp.cmd('query-status')) as { status: string };
      if (st.status === 'running') break;
      if (st.status !== 'inmigrate') await qmp.cmd('cont');
      else await new Promise((r) => setTimeout(r, 20));
      if (dead()) throw new Error('qemu exited during restore');
    }
    // The data disk first (the guest's vdc), then the inbox (vdd). cache=none: O_DIRECT on the host, flushes
    // honoured (fdatasync); for nbd, qemu keeps no cache of its own and passes every flush on.
    const data =
      nbd === null
        ? { driver: 'file', filename: o.dataDisk, aio: 'threads' }
        : { driver: 'nbd', server: { type: 'unix', path: nbd.socket } };
    await qmp.cmd('blockdev-add', {
      'node-name': 'data',
      driver: 'raw',
      cache: { direct: nbd === null, 'no-flush': false },
      file: data,
    });
    await qmp.cmd('device_add', { driver: 'virtio-blk-pci', drive: 'data', id: 'datadev' });
    await qmp.cmd('blockdev-add', {
      'node-name': 'inbox',
      driver: 'raw',
      'read-only': true,
      file: { driver: 'file', filename: o.inboxDisk, 'read-only': true },
    });
    await qmp.cmd('device_add', { driver: 'virtio-blk-pci', drive: 'inbox', id: 'inboxdev' });
    qmp.close();
  } catch (e) {
    killAll();
    await exited;
    throw new Error(`restore: ${(e as Error).message}; qemu: ${q.stderr()}`);
  }
  return {
    port: () => (existsSync(portLog) ? readFileSync(portLog, 'utf8') : ''),
    exited,
    stderr: q.stderr,
    exitedNow: dead,
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
