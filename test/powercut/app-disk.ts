/**
 * The app disk of the power-cut guest (an ext4 image made with `mkfs.ext4 -d`, no mounts): the host's own Node
 * binary, the guest program bundled from this checkout's sources by esbuild (only better-sqlite3, a native module,
 * stays outside the bundle, copied from the host's node_modules), and init.sh. Cached by the hash of all of it.
 *
 * Why the host's node binary and not Debian's nodejs: better-sqlite3 in node_modules was built by the host's
 * npm for the host's Node ABI; running the very same binary in the guest (same arch, the guest's glibc is newer)
 * means the guest runs exactly the code the unit tests ran, with no second Node to keep in step.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PID 1's second half (the root's stub mounts this disk on /opt/onepad and execs this). */
const INIT_SH = `#!/bin/sh
# onepad power-cut guest: run the checker and workload, report over virtio-serial.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
modprobe virtio_console 2>/dev/null
PORT=
for i in 1 2 3 4 5 6 7 8 9 10; do
  for d in /sys/class/virtio-ports/*; do
    [ "$(cat "$d/name" 2>/dev/null)" = onepad.powercut ] && PORT=/dev/$(basename "$d")
  done
  [ -n "$PORT" ] && [ -e "$PORT" ] && break
  sleep 0.1
done
# The guest program says "ready" once loaded, then waits for its data disk (vdc) and inbox (vdd) to be plugged in.
/opt/onepad/node /opt/onepad/guest.mjs "$PORT"
echo o >/proc/sysrq-trigger
sleep 10
`;

/** Files the bundle keeps outside (native code and what loads it). */
const NATIVE = [
  'better-sqlite3/package.json',
  'better-sqlite3/lib',
  'better-sqlite3/build/Release/better_sqlite3.node',
  'bindings',
  'file-uri-to-path',
];

/** Bundle the guest program (fast; always done, its output is part of the cache key). */
function bundle(repo: string, outFile: string): void {
  execFileSync(
    join(repo, 'node_modules/.bin/esbuild'),
    [
      join(repo, 'test/powercut/guest/main.ts'),
      '--bundle',
      '--platform=node',
      '--target=node20',
      '--format=esm',
      '--external:better-sqlite3',
      `--outfile=${outFile}`,
      '--log-level=warning',
      // ESM output: CommonJS dependencies (ajv) call require(), which an ES module lacks.
      "--banner:js=import { createRequire as __pcRequire } from 'node:module'; const require = __pcRequire(import.meta.url);",
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

/**
 * Build (or reuse) the app disk.
 * @returns the path of the ext4 image and whether it came from the cache
 * @throws Error when esbuild or mkfs.ext4 fails
 */
export function buildAppDisk(repo: string, cache: string): { path: string; cached: boolean } {
  mkdirSync(cache, { recursive: true });
  const stage = join(cache, 'app.stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  bundle(repo, join(stage, 'guest.mjs'));
  const h = createHash('sha256');
  h.update(readFileSync(join(stage, 'guest.mjs')));
  h.update(INIT_SH);
  h.update(readFileSync(process.execPath));
  for (const n of NATIVE) {
    const p = join(repo, 'node_modules', n);
    h.update(n);
    if (n.endsWith('.node') || n.endsWith('.json')) h.update(readFileSync(p));
  }
  h.update(readFileSync(join(repo, 'package-lock.json')));
  const key = h.digest('hex').slice(0, 16);
  const out = join(cache, `app-${key}.ext4`);
  if (existsSync(out)) {
    rmSync(stage, { recursive: true, force: true });
    return { path: out, cached: true };
  }
  cpSync(process.execPath, join(stage, 'node'));
  chmodSync(join(stage, 'node'), 0o755);
  writeFileSync(join(stage, 'init.sh'), INIT_SH, { mode: 0o755 });
  for (const n of NATIVE) cpSync(join(repo, 'node_modules', n), join(stage, 'node_modules', n), { recursive: true });
  const tmp = `${out}.tmp`;
  rmSync(tmp, { force: true });
  const mb =
    Math.ceil(
      Number(execFileSync('du', ['-sm', '--apparent-size', stage], { encoding: 'utf8' }).split('\t')[0]) * 1.3,
    ) + 32;
  execFileSync('mkfs.ext4', ['-q', '-F', '-L', 'pc-app', '-d', stage, tmp, `${mb}M`], { stdio: 'inherit' });
  renameSync(tmp, out);
  rmSync(stage, { recursive: true, force: true });
  return { path: out, cached: false };
}
