/**
 * `onepad chat` in a terminal (a real pty through util-linux `script`): `/quit` ends the process. And polling does
 * not pile up abort listeners, one every poll (Node warns past ten listeners on one signal).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatClient } from '../../client/chat.js';
import { runSession } from '../../client/session.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('onepad chat in a terminal', () => {
  it('/quit exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-chattty-'));
    dirs.push(dir);
    // Nothing listens on port 9 of loopback: the chat only starts, prompts, and is told to quit.
    const cmd = `${process.execPath} --import tsx device/service/main.ts chat --name alice --relay http://127.0.0.1:9 --device http://127.0.0.1:9 --state ${join(dir, 's.json')} --poll-ms 0`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      for (let i = 0; i < 600 && !out.includes('> '); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('onepad chat as alice');
      // The terminal stays open (stdin is not closed): only /quit may end the chat.
      child.stdin.write('/quit\r');
      const code = await Promise.race([exit, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('polling keeps one abort listener at a time', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      let polls = 0;
      const client = {
        name: 'alice',
        lastRef: 0,
        receive: async () => {
          polls++;
          return [];
        },
      } as unknown as ChatClient;
      const input = new PassThrough();
      const ac = new AbortController();
      const done = runSession({ client, input, output: new PassThrough(), json: true, pollMs: 2, signal: ac.signal });
      while (polls < 40) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      expect(await done).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => /listener/i.test(w))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  }, 30_000);
});
