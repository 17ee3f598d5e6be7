/**
 * Running a TypeScript child under strace -f -y, for tests that check the order of system calls (fsyncs before
 * renames, allocation before the first write).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Whether strace runs here. */
export const hasStrace = spawnSync('strace', ['-V']).status === 0;

/**
 * Run `node --import tsx <script> ...args` under strace, tracing `calls` (e.g. `fsync,rename`).
 * @returns the child's exit status and stderr, and the trace's lines (each call with its fds' paths)
 */
export function straceChild(
  script: string,
  args: readonly string[],
  calls: string,
): { status: number | null; stderr: string; lines: string[] } {
  const trace = join(mkdtempSync(join(tmpdir(), 'onepad-strace-')), 'trace.txt');
  const run = spawnSync(
    'strace',
    ['-f', '-y', '-qq', '-o', trace, '-e', `trace=${calls}`, process.execPath, '--import', 'tsx', script, ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  let lines: string[] = [];
  try {
    lines = readFileSync(trace, 'utf8').split('\n');
  } catch {
    // no trace: the status says why
  }
  return { status: run.status, stderr: run.stderr, lines };
}
