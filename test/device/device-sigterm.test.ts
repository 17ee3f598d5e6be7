/**
 * `onepad device --sim` stops cleanly on SIGTERM while its pool is filling: exit 0, no crash of the filler's last
 * progress report against the engine the service has already closed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
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

function poolFilled(ledger: string): number {
  if (!existsSync(ledger)) return 0;
  try {
    const db = new Database(ledger, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT filled FROM pool WHERE id = 1').get() as { filled: number } | undefined)?.filled ?? 0;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
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
    const ledger = join(root, 'data', 'ledger.db');
    const end = Date.now() + 60_000;
    // Up (the link answers) and filling (the pool counter moves).
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/`).then(
        () => true,
        () => false,
      );
      if (up && poolFilled(ledger) > 0) break;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`device did not come up: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(poolFilled(ledger)).toBeLessThan(8 * 1048576);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stderr).not.toMatch(/TypeError|not open|Error:/);
  }, 90_000);
});
