/**
 * Logging is best-effort: a device whose log cannot be written keeps serving. The device runs as its own process
 * (`onepad device --sim --auto-approve`) with its stdout (the pino log) on a full tmpfs (ENOSPC at every line) or
 * on a pipe whose reader has gone (EPIPE); every request still gets its answer, and the process stays up.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkClient } from '../../rpc/client.js';
import { bestEffortLog } from '../../rpc/log-stream.js';
import { makePair, type Pair } from '../helpers/engine-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const isRoot = process.getuid?.() === 0;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function writeConfig(pair: Pair): string {
  const file = join(pair.root, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      dataDir: pair.dirA,
      device: { name: 'alice', simulated: true },
      link: { address: '127.0.0.1', peer: '127.0.0.1', logLevel: 'debug' },
    }),
  );
  return file;
}

function startDevice(config: string, port: number, stdout: 'pipe' | number): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/rpc/cli-child.ts',
      'device',
      '--config',
      config,
      '--sim',
      '--auto-approve',
      '--port',
      String(port),
    ],
    { cwd: ROOT, stdio: ['ignore', stdout, 'pipe'] },
  );
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Ask until the device answers (it is starting), then `n` more times; every answer must be the engine's. */
async function askRepeatedly(port: number, n: number): Promise<string[]> {
  const client = new LinkClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 5000 });
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await client.unpackage('AAAA');
    } catch (e) {
      if ((e as { code?: string }).code === 'MALFORMED') break;
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const codes: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await client.unpackage('AAAA');
      codes.push('ok');
    } catch (e) {
      codes.push((e as { code?: string }).code ?? 'other');
    }
  }
  return codes;
}

describe('bestEffortLog', () => {
  it('a write that throws or a stream that errors is counted, never thrown', () => {
    let calls = 0;
    const throwing = bestEffortLog({
      write() {
        calls++;
        throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      },
    });
    expect(() => throwing.write('a\n')).not.toThrow();
    expect(throwing.dropped).toBe(1);
    const erroring = new Writable({
      write(_c, _e, cb) {
        cb(Object.assign(new Error('broken pipe'), { code: 'EPIPE' }));
      },
    });
    const log = bestEffortLog(erroring);
    log.write('a\n');
    log.write('b\n');
    expect(calls).toBe(1);
  });
});

describe.skipIf(!isRoot)('a device whose log cannot be written keeps serving', () => {
  it('stdout on a full tmpfs (ENOSPC)', async () => {
    const pair = makePair(4096);
    cleanups.push(() => pair.cleanup());
    const mnt = mkdtempSync(join(tmpdir(), 'onepad-fulltmp-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
    cleanups.push(() => {
      execFileSync('umount', ['-l', mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });
    // Fill it: every later write is ENOSPC.
    try {
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(1 << 20));
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ENOSPC');
    }
    mkdirSync(join(mnt, 'x'), { recursive: true });
    const fd = openSync(join(mnt, 'device.log'), 'w');
    const port = await freePort();
    const child = startDevice(writeConfig(pair), port, fd);
    closeSync(fd);
    const codes = await askRepeatedly(port, 30);
    expect(codes).toEqual(Array(30).fill('MALFORMED'));
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
  }, 60_000);

  it('stdout on a pipe whose reader has gone (EPIPE)', async () => {
    const pair = makePair(4096);
    cleanups.push(() => pair.cleanup());
    const port = await freePort();
    const child = startDevice(writeConfig(pair), port, 'pipe');
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    // Read until it is ready, then close the read end: its next log line meets EPIPE.
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d) => {
        if (String(d).includes('device ready')) resolve();
      });
    });
    child.stdout?.destroy();
    const codes = await askRepeatedly(port, 30);
    expect(codes).toEqual(Array(30).fill('MALFORMED'));
    expect(child.exitCode, stderr).toBeNull();
    expect(child.signalCode).toBeNull();
  }, 60_000);
});
