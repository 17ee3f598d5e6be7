/**
 * Logging is best-effort: a device whose log cannot be written keeps serving. The device runs as its own process
 * (`onepad device --sim --auto-approve`) with its stdout (the pino log) on a full tmpfs (ENOSPC at every line), on
 * a pipe whose reader has gone (EPIPE), or on a pipe whose reader stays but never reads (the pipe fills, lines
 * queue in memory up to 1 MiB, then are dropped); every request still gets its answer, and the process stays up.
 * The relay (`onepad relay`) likewise on a full tmpfs and a closed pipe.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { newRelayToken, RelayClient } from '../../client/relay-client.js';
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

  it('a stream that never drains holds at most about 1 MiB; later lines are dropped and counted', () => {
    const stalled = new Writable({ highWaterMark: 1024, write() {} });
    const log = bestEffortLog(stalled);
    const line = `${'x'.repeat(255)}\n`;
    for (let i = 0; i < 8192; i++) log.write(line); // 2 MiB
    expect(stalled.writableLength).toBeLessThanOrEqual((1 << 20) + 2 * line.length);
    expect(log.dropped).toBeGreaterThan(4000);
  });
});

/** The relay as `onepad relay` on loopback at `port`, its stdout (the pino log, level info) as given. */
function startRelayProcess(dir: string, port: number, stdout: 'pipe' | number): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/client/cli-child.ts',
      'relay',
      '--address',
      '127.0.0.1',
      '--port',
      String(port),
      '--db',
      join(dir, 'relay.db'),
    ],
    { cwd: ROOT, stdio: ['ignore', stdout, 'pipe'] },
  );
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Send until the relay answers (it is starting), then `n` more sends; the outcome of each. */
async function sendRepeatedly(port: number, n: number): Promise<string[]> {
  const client = new RelayClient({
    url: `http://127.0.0.1:${port}`,
    name: 'alice',
    token: newRelayToken(),
    timeoutMs: 5000,
  });
  const pkg = Buffer.alloc(80, 7).toString('base64');
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await client.send('bob', pkg);
      break;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await client.send('bob', pkg);
      out.push('ok');
    } catch (e) {
      out.push((e as { code?: string }).code ?? 'other');
    }
  }
  return out;
}

/** A 64 KiB tmpfs, filled: every later write on it is ENOSPC. Returns an fd open for writing on it. */
function fullTmpfsFd(): number {
  const mnt = mkdtempSync(join(tmpdir(), 'onepad-fulltmp-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  cleanups.push(() => {
    execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  try {
    writeFileSync(join(mnt, 'filler'), Buffer.alloc(1 << 20));
  } catch (e) {
    expect((e as { code?: string }).code).toBe('ENOSPC');
  }
  return openSync(join(mnt, 'process.log'), 'w');
}

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

  it('stdout on a pipe whose reader stays but never reads (the pipe fills)', async () => {
    const pair = makePair(4096);
    cleanups.push(() => pair.cleanup());
    const port = await freePort();
    const child = startDevice(writeConfig(pair), port, 'pipe');
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d) => {
        if (String(d).includes('device ready')) resolve();
      });
    });
    // Stop reading, keep the read end open: the 64 KiB pipe fills after a few hundred lines at debug level.
    child.stdout?.pause();
    child.stdout?.removeAllListeners('data');
    const codes = await askRepeatedly(port, 600);
    expect(codes).toEqual(Array(600).fill('MALFORMED'));
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
  }, 120_000);
});

describe.skipIf(!isRoot)('a relay whose log cannot be written keeps serving', () => {
  it('stdout on a full tmpfs (ENOSPC)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-relaylog-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const fd = fullTmpfsFd();
    const port = await freePort();
    const child = startRelayProcess(dir, port, fd);
    closeSync(fd);
    expect(await sendRepeatedly(port, 20)).toEqual(Array(20).fill('ok'));
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
  }, 60_000);

  it('stdout on a pipe whose reader has gone (EPIPE)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-relaylog-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const child = startRelayProcess(dir, port, 'pipe');
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d) => {
        if (String(d).includes('relay ready')) resolve();
      });
    });
    child.stdout?.destroy();
    expect(await sendRepeatedly(port, 20)).toEqual(Array(20).fill('ok'));
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
  }, 60_000);
});
