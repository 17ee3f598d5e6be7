/**
 * `onepad device --sim` stops cleanly on SIGTERM while its pool is filling: exit 0, no crash of the filler's last
 * progress report against the engine the service has already closed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('onepad device and SIGTERM', () => {
  it('exits 0 on SIGTERM while the pool is filling', async () => {
    const root = mkdtempSync(join(tmpdir(), 'onepad-sigterm-'));
    dirs.push(root);
    const port = await freePort();
    const config = join(root, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: join(root, 'data'),
        device: { name: 'pad-term', ownerWord: 'owl', simulated: true },
        link: { address: '127.0.0.1', peer: '127.0.0.1', port, logLevel: 'warn' },
        display: { sink: 'sim', input: 'sim' },
        // Slow enough that it is still filling when the signal comes.
        hrng: { sources: [{ kind: 'simulated', bytesPerSecond: 16384 }], poolMaxBytes: 8 * 1048576 },
      }),
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'device/service/main.ts', 'device', '--config', config, '--sim'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdout.resume();
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const end = Date.now() + 60_000;
    // Up (the link answers). The filler starts with the service and cannot be done: 8 MiB at 16 KiB/s, behind a
    // 1 MiB holdback and the extractor's seed. (The pool's counters cannot be read from outside: the running
    // device holds its ledger with an exclusive lock.)
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/`).then(
        () => true,
        () => false,
      );
      if (up) break;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`device did not come up: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1500)); // the filler is reading its source
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stderr).not.toMatch(/TypeError|not open|Error:/);
  }, 90_000);
});
