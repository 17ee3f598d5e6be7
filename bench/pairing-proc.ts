/**
 * Child processes of the pairing benchmark, each in a network namespace: `node --import tsx <file>` under
 * `ip netns exec`, with a hard time limit, stdin open for a `go` line, and tagged JSON lines (`<tag> {json}`) read
 * from stdout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A running benchmark child. */
export class BenchChild {
  readonly child: ChildProcess;
  readonly label: string;
  private stdout = '';
  private stderr = '';
  private exited: { code: number | null; signal: string | null } | null = null;
  private readonly guard: NodeJS.Timeout;
  private readonly listeners = new Set<() => void>();

  /**
   * Start `file` (repo-relative) in namespace `ns`; it is SIGKILLed after `limitMs` whatever happens.
   * @param label - names the child in error messages
   */
  constructor(label: string, ns: string, file: string, args: readonly string[], limitMs: number) {
    this.label = label;
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', file, ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.notify();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.child.stdin?.on('error', () => {
      // the child is gone; its exit is reported through waitFor
    });
    this.guard = setTimeout(() => this.kill(), limitMs);
    this.child.on('close', (code, signal) => {
      clearTimeout(this.guard);
      this.exited = { code, signal };
      this.notify();
    });
  }

  /** Send one line on the child's stdin. */
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /**
   * Wait for the first stdout line `<tag> {json}` and return the parsed JSON.
   * @throws Error when the child exits first or `timeoutMs` passes
   */
  waitFor(tag: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.stdout.split('\n').find((l, i, all) => i < all.length - 1 && l.startsWith(`${tag} `));
        if (line !== undefined) {
          done();
          resolve(JSON.parse(line.slice(tag.length + 1)) as Record<string, unknown>);
        } else if (this.exited) {
          done();
          reject(this.failure(`exited (${this.exited.signal ?? this.exited.code}) before "${tag}"`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`no "${tag}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** SIGKILL the child if it still runs. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** Resolves once the child has exited (killing it after `timeoutMs`). */
  async exit(timeoutMs: number): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.kill(), timeoutMs);
      this.child.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private failure(what: string): Error {
    return new Error(`${this.label} ${what}: ${this.stderr.trim().split('\n').slice(-12).join(' | ')}`);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}
