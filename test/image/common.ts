/**
 * What the boot tests share (test/image/boot-test.ts, the two-device test; test/image/shipped.ts, the shipped
 * configuration): progress lines and checks, the onepad CLI on the host (optionally in a namespace), the laptop's
 * port probes, and the report a guest prints on its serial console.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Arch, Guest } from './qemu.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const T0 = Date.now();
const secs = () => ((Date.now() - T0) / 1000).toFixed(0);
export const step = (msg: string): void => {
  process.stdout.write(`[boot-test +${secs()}s] ${msg}\n`);
};
/** What failed so far, in order. */
export const failures: string[] = [];
export function check(ok: boolean, what: string, detail = ''): void {
  step(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures.push(what);
}

export const GUEST = '10.254.0.1';
export const LAPTOP = '10.254.0.2';
export const RPC_PORT = 4747;
/** Guest ports that must not answer the laptop: ssh, http, pairing (outside pairing mode), and one more. */
export const CLOSED_PORTS = [22, 80, 47002, 4750];
const PROBE = join(REPO, 'test/systemd/firewall-probe.mjs');

/** The project's CLI on the host, in namespace `ns` when given (the laptop's side). */
export function cli(args: string[], ns?: string): string {
  const node = [process.execPath, '--import', 'tsx', 'device/service/main.ts', ...args];
  const [cmd, ...rest] = ns ? ['ip', 'netns', 'exec', ns, ...node] : node;
  return execFileSync(cmd as string, rest, { cwd: REPO, encoding: 'utf8', timeout: 360_000 }).trim();
}
export const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
export const inNs = (ns: string, ...args: string[]) => sh('ip', 'netns', 'exec', ns, ...args);

/** Probe guest ports from the laptop: "timeout" means no TCP connection at all (see firewall-probe.mjs). */
export function probe(ns: string, ports: number[]): string[] {
  // An HTTP request, for the link server (it answers nothing before one); generous under TCG.
  const probes = ports.map((port) => ({
    host: GUEST,
    port,
    from: LAPTOP,
    send: 'GET / HTTP/1.0\r\n\r\n',
    timeoutMs: 5000,
  }));
  return JSON.parse(
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, PROBE, JSON.stringify(probes)], { encoding: 'utf8' }),
  );
}

/** The report a guest prints between markers on its serial console, as a lookup of its `key: value` lines. */
export async function reportOf(guest: Guest, name: string, timeoutMs: number): Promise<(k: string) => string[]> {
  const m = await guest.waitFor(/ONEPAD-REPORT-BEGIN([\s\S]*?)ONEPAD-REPORT-END/, timeoutMs, `${name}: the report`);
  const report = (m[1] ?? '').replace(/\r/g, '');
  step(`${name} report:\n${report.trim()}`);
  const lines = report.split('\n').map((l) => l.trim());
  return (k) => lines.filter((l) => l.startsWith(`${k}: `)).map((l) => l.slice(k.length + 2));
}

/** The score in a `systemd-analyze security` summary line ("→ Overall exposure level for X: 1.5 OK"). */
export const exposure = (line: string | undefined): string | undefined =>
  /exposure level for \S+: ([0-9.]+)/.exec(line ?? '')?.[1];

/** The image taken apart once: its kernel, initrd, cmdline and a root file system to copy for each guest. */
export interface Prepared {
  readonly image: string;
  readonly arch: Arch;
  readonly accel: 'kvm' | 'tcg';
  readonly work: string;
  readonly cmdline: string;
  readonly rootExt4: string;
  readonly uid: number;
  readonly gid: number;
}
