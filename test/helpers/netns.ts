/**
 * Network namespaces for tests: hosts that exist only inside this machine, joined by veth pairs. All test traffic
 * stays inside them. Needs root and iproute2 (CI runs as root and installs iproute2).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const canUseNetns: boolean = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Remove namespaces named `<prefix><pid>-...` whose test process is gone (left by a killed run), and this
 * process's own.
 */
export function removeLeftoverNamespaces(prefix: string): void {
  const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const re = new RegExp(`^${prefix}(\\d+)-`);
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = re.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid !== process.pid;
    if (alive) {
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
    }
    if (!alive) {
      try {
        ip('netns', 'del', name);
      } catch {
        // already gone
      }
    }
  }
}

/** Create namespaces with loopback up. */
export function addNamespaces(...names: string[]): void {
  for (const ns of names) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
}

/** Delete namespaces (their veth ends go with them). */
export function deleteNamespaces(...names: string[]): void {
  for (const ns of names) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
}

/**
 * Join two namespaces with a veth pair and bring it up. IPv6 duplicate address detection is turned off on both
 * ends first, so their link-local addresses are usable at once.
 */
export function joinWithVeth(nsA: string, ifA: string, nsB: string, ifB: string): void {
  ip('link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
  for (const [ns, dev] of [
    [nsA, ifA],
    [nsB, ifB],
  ] as const) {
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${dev}.accept_dad=0`], {
      stdio: 'ignore',
    });
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
  // Wait until both ends have a usable (not tentative) link-local address.
  for (const [ns, dev] of [
    [nsA, ifA],
    [nsB, ifB],
  ] as const) {
    const until = Date.now() + 10_000;
    for (;;) {
      const out = execFileSync('ip', ['-n', ns, '-6', 'addr', 'show', 'dev', dev, 'scope', 'link'], {
        encoding: 'utf8',
      });
      if (/inet6 fe80:/.test(out) && !/tentative/.test(out)) break;
      if (Date.now() > until) throw new Error(`${dev} in ${ns} got no link-local address: ${out}`);
      execFileSync('sleep', ['0.05']);
    }
  }
}

export interface NsProcess {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
  /** Everything printed on stdout so far. */
  output(): string;
}

/** Run a TypeScript file of this repo in a namespace (node --import tsx), collecting its output. */
export function spawnInNs(ns: string, file: string, args: string[], guardMs = 60_000): NsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', file, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), guardMs);
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(guard);
        resolve({ code, signal, stdout, stderr });
      });
    },
  );
  return { child, done, output: () => stdout };
}
