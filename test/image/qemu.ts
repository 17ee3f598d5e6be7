/**
 * qemu for the boot test: the image's own kernel and initrd, the root file system as a virtio disk, the serial
 * console on stdio (kept in memory and teed to a log file), and one NIC — the device's eth0 — on a tap device the
 * test made in a network namespace of its own (qemu runs inside it), so what the guest reaches is exactly what the
 * test wires to that tap. arm64: qemu-system-aarch64 -M virt (TCG: no KVM for arm64 on an x86 host); amd64:
 * qemu-system-x86_64 -M q35 with KVM where it really boots a kernel here, TCG otherwise.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

export type Arch = 'arm64' | 'amd64';

/** How to boot. */
export interface GuestOptions {
  readonly arch: Arch;
  readonly accel: 'kvm' | 'tcg';
  readonly kernel: string;
  readonly initrd: string;
  readonly rootDisk: string;
  readonly append: string;
  /** The network namespace qemu runs in, and the tap device there that is the guest's eth0. */
  readonly netns: string;
  readonly tap: string;
  readonly mac: string;
  readonly consoleLog: string;
  readonly memoryMb?: number;
  readonly cpus?: number;
  /** A QMP socket (unix path) to serve, for screendumps and input events (test/image/qmp.ts). */
  readonly qmpSocket?: string;
  /** More devices and chardevs (qemu arguments), e.g. the shipped boot test's screen, tablet and TrueRNG. */
  readonly extraArgs?: readonly string[];
}

/** A running guest. */
export interface Guest {
  /** Serial console output so far. */
  console(): string;
  /** Resolve with the match once the console matches `re`; reject on timeout or exit. */
  waitFor(re: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray>;
  /** Kill qemu (TERM, then KILL after 5 s) and wait for it. */
  stop(): Promise<void>;
}

/** The serial console's device name in the guest. */
export const consoleTty = (arch: Arch): string => (arch === 'arm64' ? 'ttyAMA0' : 'ttyS0');

function machine(o: GuestOptions): { bin: string; args: string[] } {
  if (o.arch === 'arm64') {
    return {
      bin: 'qemu-system-aarch64',
      args: ['-M', 'virt', '-cpu', 'cortex-a72', '-accel', 'tcg,thread=multi'],
    };
  }
  return {
    bin: 'qemu-system-x86_64',
    args: [
      '-nodefaults',
      '-M',
      'q35',
      '-accel',
      o.accel === 'kvm' ? 'kvm' : 'tcg,thread=multi',
      '-cpu',
      o.accel === 'kvm' ? 'host' : 'max',
    ],
  };
}

/** Start qemu. */
export function boot(o: GuestOptions): Guest {
  const m = machine(o);
  const args = [
    ...m.args,
    '-smp',
    String(o.cpus ?? 1),
    '-m',
    String(o.memoryMb ?? 1024),
    '-nographic',
    '-monitor',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    o.append,
    '-drive',
    `file=${o.rootDisk},format=raw,if=none,id=root,cache=unsafe,discard=unmap`,
    '-device',
    'virtio-blk-pci,drive=root',
    '-netdev',
    `tap,id=link,ifname=${o.tap},script=no,downscript=no`,
    // No option ROM: the kernel is booted directly, nothing boots from the network.
    '-device',
    `virtio-net-pci,netdev=link,mac=${o.mac},romfile=`,
    '-device',
    'virtio-rng-pci',
    ...(o.qmpSocket ? ['-qmp', `unix:${o.qmpSocket},server=on,wait=off`] : []),
    ...(o.extraArgs ?? []),
  ];
  return spawnQemu(o.netns, m.bin, args, o.consoleLog);
}

/**
 * Run `bin args` in network namespace `netns`, its stdout and stderr (the serial console on stdio) kept in memory
 * and appended to `consoleLog`; qemu is killed if this process exits first.
 */
export function spawnQemu(netns: string, bin: string, args: readonly string[], consoleLog: string): Guest {
  let out = '';
  let exited: number | null | undefined;
  const child: ChildProcess = spawn('ip', ['netns', 'exec', netns, bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onData = (b: Buffer) => {
    const s = b.toString('utf8');
    out += s;
    appendFileSync(consoleLog, s);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // Never leave qemu behind, whatever ends this process.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const done = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exited = code;
      process.off('exit', killOnExit);
      resolve();
    });
  });
  return {
    console: () => out,
    waitFor(re, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const check = () => {
          const match = out.match(re);
          if (match) return resolve(match);
          if (exited !== undefined) return reject(new Error(`qemu exited (${exited}) while waiting for ${what}`));
          if (Date.now() - t0 > timeoutMs)
            return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
          setTimeout(check, 500);
        };
        check();
      });
    },
    async stop() {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
}
