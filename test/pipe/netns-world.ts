/**
 * Four network namespaces for the pipe: two laptops joined by a veth "internet", each with its simulated device
 * on a veth link of its own. Used by test/pipe/netns.test.ts and bench/pipe.ts.
 *
 *   [devA] 10.247.K.1 ── 10.247.K.2 [lapA] 10.248.K.1 ── 10.248.K.2 [lapB] 10.249.K.2 ── 10.249.K.1 [devB]
 *
 * lapA runs `onepad pipe -e` (plaintext on 127.0.0.1:8025) and the user; lapB runs `onepad pipe -d` on
 * 10.248.K.2:8025 and an echo service on 127.0.0.1:7000 behind it (and one on 10.248.K.2:7001 for raw TCP).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  addNamespaces,
  deleteNamespaces,
  ip,
  joinWithVeth,
  type NsProcess,
  removeLeftoverNamespaces,
  spawnInNs,
} from '../helpers/netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PREFIX = 'onepad-pp';

export interface PipeNetns {
  readonly ns: { devA: string; lapA: string; lapB: string; devB: string };
  readonly ip: { devA: string; lapAdev: string; lapA: string; lapB: string; lapBdev: string; devB: string };
  teardown(): void;
}

/** Make the namespaces and links (root only). */
export function makePipeNetns(tagExtra = ''): PipeNetns {
  removeLeftoverNamespaces(PREFIX);
  const tag = `${PREFIX}${process.pid}-${tagExtra}`;
  const ns = { devA: `${tag}da`, lapA: `${tag}la`, lapB: `${tag}lb`, devB: `${tag}db` };
  const K = (process.pid % 200) + 20;
  const addr = {
    devA: `10.247.${K}.1`,
    lapAdev: `10.247.${K}.2`,
    lapA: `10.248.${K}.1`,
    lapB: `10.248.${K}.2`,
    lapBdev: `10.249.${K}.2`,
    devB: `10.249.${K}.1`,
  };
  addNamespaces(ns.devA, ns.lapA, ns.lapB, ns.devB);
  const p = process.pid % 100000;
  const links: [string, string, string, string, string, string][] = [
    [ns.devA, `pp${p}a`, addr.devA, ns.lapA, `pp${p}b`, addr.lapAdev],
    [ns.lapA, `pp${p}c`, addr.lapA, ns.lapB, `pp${p}d`, addr.lapB],
    [ns.lapB, `pp${p}e`, addr.lapBdev, ns.devB, `pp${p}f`, addr.devB],
  ];
  for (const [n1, i1, a1, n2, i2, a2] of links) {
    joinWithVeth(n1, i1, n2, i2);
    ip('-n', n1, 'addr', 'add', `${a1}/24`, 'dev', i1);
    ip('-n', n2, 'addr', 'add', `${a2}/24`, 'dev', i2);
  }
  return { ns, ip: addr, teardown: () => deleteNamespaces(ns.devA, ns.lapA, ns.lapB, ns.devB) };
}

/** Resolve once `p` printed `line` on stdout or stderr (or reject when it ended). */
export function waitFor(p: NsProcess, re: RegExp, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`timed out waiting for ${re}`)), ms);
    const check = () => {
      if (re.test(p.output()) || re.test(stderrOf(p))) {
        clearTimeout(guard);
        resolve();
        return true;
      }
      return false;
    };
    if (check()) return;
    p.child.stdout?.on('data', check);
    p.child.stderr?.on('data', check);
    void p.done.then((r) => {
      clearTimeout(guard);
      if (!check()) reject(new Error(`ended before ${re}: ${r.stderr.slice(-800)}`));
    });
  });
}

const stderrs = new WeakMap<NsProcess, string>();
function stderrOf(p: NsProcess): string {
  return stderrs.get(p) ?? '';
}

/** spawnInNs that also keeps stderr readable while it runs. */
export function run(ns: string, file: string, args: string[], guardMs = 600_000): NsProcess {
  const p = spawnInNs(ns, file, args, guardMs);
  stderrs.set(p, '');
  p.child.stderr?.on('data', (d: Buffer | string) => stderrs.set(p, stderrOf(p) + d.toString()));
  return p;
}

/** The stderr a process printed so far. */
export function errOf(p: NsProcess): string {
  return stderrOf(p);
}

/** Run a plain command in a namespace (spiped), collecting its output. */
export function runCmd(ns: string, cmd: string, args: string[]): NsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((r) =>
    child.on('close', (code, signal) => r({ code, signal, stdout, stderr: '' })),
  );
  const p: NsProcess = { child, done, output: () => stdout };
  stderrs.set(p, '');
  child.stderr?.on('data', (d: Buffer) => stderrs.set(p, stderrOf(p) + d.toString()));
  return p;
}

/** Start both devices, the echo services, and both pipe ends; resolves when everything listens. */
export async function startPipeWorld(
  n: PipeNetns,
  dirA: string,
  dirB: string,
  pipeArgs: string[] = [],
): Promise<{ devA: NsProcess; devB: NsProcess; pipeE: NsProcess; pipeD: NsProcess; echo: NsProcess[] }> {
  const devA = run(n.ns.devA, 'test/pipe/netns-device-child.ts', ['A', dirA, n.ip.devA, n.ip.lapAdev, '4747']);
  const devB = run(n.ns.devB, 'test/pipe/netns-device-child.ts', ['B', dirB, n.ip.devB, n.ip.lapBdev, '4747']);
  const echo = [
    run(n.ns.lapB, 'test/pipe/netns-echo-child.ts', ['127.0.0.1', '7000']),
    run(n.ns.lapB, 'test/pipe/netns-echo-child.ts', [n.ip.lapB, '7001']),
  ];
  await Promise.all([waitFor(devA, /ready/), waitFor(devB, /ready/), ...echo.map((e) => waitFor(e, /ready/))]);
  const pipeD = run(n.ns.lapB, 'device/service/main.ts', [
    'pipe',
    '-d',
    '-s',
    `[${n.ip.lapB}]:8025`,
    '-t',
    '[127.0.0.1]:7000',
    '--contact',
    'alice',
    '--device',
    `http://${n.ip.devB}:4747`,
  ]);
  await waitFor(pipeD, /listening on/);
  const pipeE = run(n.ns.lapA, 'device/service/main.ts', [
    'pipe',
    '-e',
    '-s',
    '[127.0.0.1]:8025',
    '-t',
    `[${n.ip.lapB}]:8025`,
    '--contact',
    'bob',
    '--device',
    `http://${n.ip.devA}:4747`,
    ...pipeArgs,
  ]);
  await waitFor(pipeE, /listening on/);
  return { devA, devB, pipeE, pipeD, echo };
}

/** Run the user's client in lapA and parse its JSON answer. */
export async function client(
  n: PipeNetns,
  port: number,
  mode: 'interactive' | 'bulk',
  count: number,
  address = '127.0.0.1',
) {
  const c = run(n.ns.lapA, 'test/pipe/netns-client-child.ts', [address, String(port), mode, String(count)]);
  const r = await c.done;
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line || '{"ok":false,"error":"no output"}') as {
    ok: boolean;
    rttMs?: number[];
    bytes?: number;
    ms?: number;
    got?: number;
    error?: string;
  };
}
