import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HELPER = fileURLToPath(new URL('./pty-helper.py', import.meta.url));

/** A running pty pair: the test plays the USB device on the master side. */
export interface PtyPair {
  /** The slave path serialport opens, e.g. /dev/pts/3. */
  readonly path: string;
  /** Bytes onepad wrote to the device so far. */
  output(): Buffer;
  /** Send bytes from the "device". Resolves when the helper took them. */
  write(bytes: Uint8Array): Promise<void>;
  /** Unplug: the master side closes. */
  unplug(): void;
  /** Resolve when onepad wrote `text` to the device (or reject after `ms`). */
  waitForOutput(text: string, ms?: number): Promise<void>;
  /** Stop the helper (idempotent). */
  kill(): void;
  readonly child: ChildProcess;
}

/** Start a pty pair through the python helper (bounded by `timeoutS`). */
export async function startPty(timeoutS = 30): Promise<PtyPair> {
  const child = spawn('python3', [HELPER, String(timeoutS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = Buffer.alloc(0);
  let path = '';
  let out = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (d: Buffer) => {
      if (!path) {
        buf = Buffer.concat([buf, d]);
        const nl = buf.indexOf(10);
        if (nl < 0) return;
        path = buf.subarray(0, nl).toString();
        out = buf.subarray(nl + 1);
        resolve();
      } else {
        out = Buffer.concat([out, d]);
      }
      for (const w of waiters.splice(0)) w();
    });
    child.once('exit', () => reject(new Error('pty helper exited early')));
  });
  child.stdin.on('error', () => {});
  return {
    path,
    child,
    output: () => out,
    write: (bytes) =>
      new Promise((resolve) => {
        if (child.stdin.destroyed) return resolve();
        child.stdin.write(bytes, () => resolve());
      }),
    unplug: () => {
      child.stdin.end();
    },
    waitForOutput(text, ms = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`device never got ${JSON.stringify(text)}`)), ms);
        const check = () => {
          if (out.includes(text)) {
            clearTimeout(timer);
            resolve();
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
