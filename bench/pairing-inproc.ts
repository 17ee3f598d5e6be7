/**
 * The chunk exchange alone: both sides of {@link exchangeChunks} in this one process over a loopback socket pair,
 * each drawing from an in-memory source (no pool, no ledger, no burn) and writing its pad file. Its CPU per MB,
 * set against the full pairing's, says how much of a device's CPU the protocol itself costs and how much the pool
 * (read, ledger commits, burn) adds.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { PadFileWriter } from '../device/pad-file.js';
import { FrameConnection } from '../provisioning/connection.js';
import { Transcript } from '../provisioning/fingerprint.js';
import { exchangeChunks, type PadSource } from '../provisioning/transfer.js';

/** Two sockets joined over loopback (127.0.0.1, an ephemeral port). */
function socketPair(): Promise<[Socket, Socket]> {
  return new Promise((resolve, reject) => {
    let client: Socket;
    const server = createServer((s) => {
      server.close();
      resolve([client, s]);
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      client = connect((server.address() as { port: number }).port, '127.0.0.1');
    });
  });
}

/** A source of `size` bytes of a constant (the exchange does not look at them), drawn as the pool is. */
function constantSource(size: number, value: number): PadSource {
  let used = 0;
  return {
    available: () => size - used,
    take: (n) => {
      used += n;
      return { bytes: new Uint8Array(n).fill(value), insecure: true };
    },
    takeUnburned: (n, into) => {
      used += n;
      const bytes = into ? into.subarray(0, n) : new Uint8Array(n);
      bytes.fill(value);
      return { bytes, insecure: true };
    },
    burnConsumedAsync: async () => 0,
  };
}

/**
 * Run both sides on a pad of `size` bytes in `dir` (removed afterwards).
 * @returns wall seconds and the CPU seconds of this process (both sides together)
 * @throws OnepadError from the exchange or the pad file writer
 */
export async function exchangeInProcess(
  dir: string,
  size: number,
  chunk: number,
  window: number,
): Promise<{ seconds: number; cpu: number }> {
  const root = mkdtempSync(join(dir, 'inproc-'));
  try {
    const [s1, s2] = await socketPair();
    const padId = new Uint8Array(16);
    const side = async (s: Socket, which: 'A' | 'B') => {
      const padsDir = join(root, which);
      mkdirSync(padsDir);
      const writer = PadFileWriter.create(padsDir, '00'.repeat(16), size);
      const conn = new FrameConnection(s, chunk + 64);
      await exchangeChunks({
        conn,
        source: constantSource(size, which === 'A' ? 1 : 2),
        writer,
        transcript: new Transcript(padId, size, 'a', 'b'),
        padId,
        size,
        chunk,
        side: which,
        window,
        ioTimeoutMs: 60_000,
      });
      await writer.finishAsync();
      conn.close();
    };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all([side(s1, 'A'), side(s2, 'B')]);
    const c = process.cpuUsage(c0);
    return { seconds: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
