import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Run a TypeScript file of this repo in a child node process (via tsx) and wait for it. */
export function runTs(
  file: string,
  args: string[],
): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Start a TypeScript child, collect its stdout lines, and SIGKILL it `killAfterMs` after it prints `ready`.
 * Resolves with every complete line it printed.
 */
export function runAndKill(
  file: string,
  args: string[],
  killAfterMs: number,
): Promise<{ lines: string[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      if (!timer && buf.includes('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended without being killed: ${stderr.slice(0, 500)}`));
      const lines = buf.split('\n');
      lines.pop(); // an incomplete last line was cut by the kill
      resolve({ lines, signal });
    });
  });
}

/** A running `onepad` CLI child: its output so far and its exit code. */
export interface OnepadCli {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves with the exit code (null when killed by a signal); the child is SIGKILLed after 120 s. */
  readonly done: Promise<number | null>;
}

/** Start `onepad <args>` (the real entry point, device/service/main.ts via tsx), inside network namespace `ns` if given. */
export function startOnepad(args: string[], ns?: string): OnepadCli {
  const node = [process.execPath, '--import', 'tsx', 'device/service/main.ts', ...args];
  const [cmd, ...argv] = ns ? ['ip', 'netns', 'exec', ns, ...node] : node;
  const child = spawn(cmd as string, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve(code);
    }),
  );
  return { child, out: () => out, err: () => err, done };
}
