/**
 * qemu-system-aarch64 for the boot test: `-M virt` under TCG, the image's own kernel and initrd, the root file
 * system as a virtio disk, the serial console on stdio (kept in memory and teed to a log file), and user-mode
 * networking restricted to the guest, with host ports bound to 127.0.0.1 forwarded to the guest's link address.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** How to boot. */
export interface GuestOptions {
  readonly kernel: string;
  readonly initrd: string;
  readonly rootDisk: string;
  readonly append: string;
  /** Host 127.0.0.1 port -> guest port on `guestAddress`. */
  readonly forwards: readonly { readonly host: number; readonly guest: number }[];
  /** The guest's link address; slirp plays the laptop (`hostAddress`) on `net`. */
  readonly guestAddress: string;
  readonly hostAddress: string;
  readonly net: string;
  readonly consoleLog: string;
  readonly memoryMb?: number;
  readonly cpus?: number;
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

/** A free TCP port on 127.0.0.1 (closed again; qemu binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Start qemu. */
export function boot(o: GuestOptions): Guest {
  const fwd = o.forwards.map((f) => `hostfwd=tcp:127.0.0.1:${f.host}-${o.guestAddress}:${f.guest}`).join(',');
  const args = [
    '-M',
    'virt',
    '-cpu',
    'cortex-a72',
    '-smp',
    String(o.cpus ?? 2),
    '-m',
    String(o.memoryMb ?? 1536),
    '-accel',
    'tcg,thread=multi',
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
    `user,id=link,restrict=on,net=${o.net},host=${o.hostAddress},${fwd}`,
    '-device',
    'virtio-net-pci,netdev=link',
    '-device',
    'virtio-rng-pci',
  ];
  let out = '';
  let exited: number | null | undefined;
  const child: ChildProcess = spawn('qemu-system-aarch64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const onData = (b: Buffer) => {
    const s = b.toString('utf8');
    out += s;
    appendFileSync(o.consoleLog, s);
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
          const m = out.match(re);
          if (m) return resolve(m);
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
