/**
 * The Debian packages the tests need (.ci/apt-packages): which are missing, and what to do about it.
 *
 * `npm test` calls {@link ensureDebianPackages} from vitest's global setup, so a newcomer's `npm test` on a fresh
 * Debian machine installs what the tests need when it runs as root, and otherwise stops at once with the single
 * command to run. When every package is installed it costs one `dpkg-query` call and never calls apt-get.
 *
 * Installed means what dpkg says ("installed" status), not a guess from a command on PATH: the file names
 * packages, so the check needs no table from package to command that could drift from it.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The list file, relative to the repository root. */
export const APT_PACKAGES_FILE = '.ci/apt-packages';

/**
 * The package names in an apt-packages file: one per line; blank lines and `#` comments (whole-line or
 * trailing) are ignored.
 *
 * @throws {RangeError} when a line holds something that is not a Debian package name.
 */
export function parseAptPackages(text: string): string[] {
  const names: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    // Debian policy 5.6.1: lower case letters, digits, + - . ; at least two characters, starting alphanumeric.
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(line)) {
      throw new RangeError(`${APT_PACKAGES_FILE} line ${i + 1}: not a Debian package name: ${JSON.stringify(line)}`);
    }
    if (!names.includes(line)) names.push(line);
  }
  return names;
}

/** The `dpkg-query -W` format {@link missingFromDpkgQuery} parses: name, tab, status word. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} syntax, not a JS template.
export const DPKG_FORMAT = '${Package}\\t${db:Status-Status}\\n';

/**
 * The required packages that dpkg does not report as installed, in the order required.
 *
 * @param required package names, from {@link parseAptPackages}.
 * @param dpkgOutput stdout of `dpkg-query -W -f=DPKG_FORMAT <required...>`: one `name\tstatus` line per package
 *   dpkg knows (a package it has never heard of has no line, and a removed one has status `config-files` or
 *   `not-installed`). A name may carry an `:arch` suffix.
 */
export function missingFromDpkgQuery(required: readonly string[], dpkgOutput: string): string[] {
  const installed = new Set<string>();
  for (const line of dpkgOutput.split('\n')) {
    const [name, status] = line.split('\t');
    if (name && status?.trim() === 'installed') installed.add(name.replace(/:.*$/, ''));
  }
  return required.filter((p) => !installed.has(p));
}

/** What the machine offers for installing packages. */
export interface Host {
  isRoot: boolean;
  hasAptGet: boolean;
}

/** What to do about the missing packages. */
export type Plan =
  | { kind: 'nothing' }
  | { kind: 'install'; packages: string[] }
  | { kind: 'stop'; packages: string[]; command: string };

/** Decides what to do: nothing when none are missing, install as root with apt-get, otherwise stop with a command. */
export function plan(missing: readonly string[], host: Host): Plan {
  if (missing.length === 0) return { kind: 'nothing' };
  const packages = [...missing];
  if (host.isRoot && host.hasAptGet) return { kind: 'install', packages };
  // Not root: `sudo npm test` installs them through this same setup (and the netns tests need root anyway).
  if (host.hasAptGet) return { kind: 'stop', packages, command: 'sudo npm test' };
  return { kind: 'stop', packages, command: `apt-get install ${packages.join(' ')}  # on Debian, as root` };
}

/** The message printed when the setup stops. */
export function stopMessage(p: Extract<Plan, { kind: 'stop' }>): string {
  return `The tests need Debian packages that are not installed: ${p.packages.join(' ')}.\nRun: ${p.command}`;
}

/** True when `cmd` is an executable file on PATH (no process spawned). */
export function onPath(cmd: string, path = process.env.PATH ?? ''): boolean {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

/** Asks dpkg which of `required` are missing; every package counts as missing where there is no dpkg-query. */
export function queryMissing(required: readonly string[]): string[] {
  if (required.length === 0) return [];
  if (!onPath('dpkg-query')) return [...required];
  // Exit status 1 just means some names are unknown to dpkg; they have no line and so count as missing.
  const r = spawnSync('dpkg-query', ['-W', `-f=${DPKG_FORMAT}`, ...required], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return missingFromDpkgQuery(required, r.stdout);
}

function aptGet(args: string[]): void {
  // Another run (or unattended-upgrades) may hold the dpkg lock: wait for it rather than fail.
  const r = spawnSync('apt-get', ['-qq', '-o', 'DPkg::Lock::Timeout=300', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
}

/**
 * Makes sure the packages listed in `file` are installed: installs the missing ones (apt-get update, then a
 * quiet noninteractive install) when running as root with apt-get, and checks again afterwards.
 *
 * @throws {Error} with the single command to run when packages are missing and cannot be installed here, or
 *   when apt-get fails or leaves one of them uninstalled.
 */
export function ensureDebianPackages(file: string, log: (line: string) => void = console.log): void {
  const required = parseAptPackages(readFileSync(file, 'utf8'));
  const missing = queryMissing(required);
  const p = plan(missing, {
    isRoot: process.getuid?.() === 0,
    hasAptGet: onPath('apt-get'),
  });
  if (p.kind === 'nothing') return;
  if (p.kind === 'stop') throw new Error(stopMessage(p));
  log(`Installing the Debian packages the tests need (${APT_PACKAGES_FILE}): ${p.packages.join(' ')}`);
  aptGet(['update']);
  aptGet(['install', '-y', '--no-install-recommends', ...p.packages]);
  const still = queryMissing(required);
  if (still.length > 0) throw new Error(`apt-get install left these packages not installed: ${still.join(' ')}`);
}
