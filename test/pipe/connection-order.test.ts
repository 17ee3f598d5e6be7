/**
 * Two device requests in flight each way (client/pipe-connection.ts): a device that answers the later request
 * first must not reorder anything. A fake link (its packages are the frames themselves) answers every pair of
 * requests in reverse order; the bytes still arrive whole and in order through a -e and a -d connection joined by
 * loopback TCP, and the fakes show that answers did overtake each other.
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runPipe } from '../../client/pipe-cli.js';
import { runPipeConnection } from '../../client/pipe-connection.js';
import type { SessionLink } from '../../client/pipe-link.js';

/** Answers the requests of one kind (package or unpackage) with copies of what they were given, latest first. */
class Reverser {
  overtakes = 0;
  private waiting: { out: Uint8Array[]; resolve: (v: Uint8Array[]) => void; seq: number }[] = [];
  private seq = 0;
  private answered = -1;
  ask(items: readonly Uint8Array[]): Promise<Uint8Array[]> {
    return new Promise((resolve) => {
      // Fresh Uint8Arrays, as the real link's decoded answers are (Buffer.slice would be a view).
      this.waiting.push({ out: items.map((f) => new Uint8Array(f)), resolve, seq: this.seq++ });
      if (this.waiting.length === 1) setTimeout(() => this.answer(), 3);
    });
  }
  private answer(): void {
    const all = this.waiting.reverse();
    this.waiting = [];
    for (const w of all) {
      if (w.seq < this.answered) this.overtakes++;
      this.answered = Math.max(this.answered, w.seq);
      w.resolve(w.out);
    }
  }
}

/** A fake session link: its packages are the frames themselves. */
class ReversingLink {
  last = null;
  readonly packages = new Reverser();
  readonly unpackages = new Reverser();
  package(frames: readonly Uint8Array[]): Promise<Uint8Array[]> {
    return this.packages.ask(frames);
  }
  unpackage(packages: readonly Uint8Array[]): Promise<Uint8Array[]> {
    return this.unpackages.ask(packages);
  }
}

async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port });
  const [s] = await accepted;
  await once(client, 'connect').catch(() => undefined);
  server.close();
  return [client, s];
}

describe('a pipe connection with two device requests in flight', () => {
  it('keeps the order of frames when the device answers the later request first', async () => {
    const [wireE, wireD] = await socketPair();
    const linkE = new ReversingLink();
    const linkD = new ReversingLink();
    const inE = new PassThrough();
    const outE = new PassThrough();
    const inD = new PassThrough();
    const outD = new PassThrough();
    const got: Buffer[] = [];
    outD.on('data', (c: Buffer) => got.push(c));
    outE.resume();
    const common = { maxData: 700, batchBytes: 1500, depth: 2 };
    const e = runPipeConnection({
      ...common,
      link: linkE as unknown as SessionLink,
      plainIn: inE,
      plainOut: outE,
      wire: wireE,
      initiator: true,
    });
    const d = runPipeConnection({
      ...common,
      link: linkD as unknown as SessionLink,
      plainIn: inD,
      plainOut: outD,
      wire: wireD,
      initiator: false,
    });
    inD.end();
    const sent: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const chunk = Buffer.alloc(100 + ((i * 37) % 900), i & 0xff);
      chunk.writeUInt16BE(i, 0);
      sent.push(chunk);
      inE.write(chunk);
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    inE.end();
    await Promise.all([e, d]);
    expect(Buffer.concat(got).equals(Buffer.concat(sent))).toBe(true);
    // Not vacuous: a later request of the same kind was answered before an earlier one, on both sides.
    expect(linkE.packages.overtakes).toBeGreaterThan(0);
    expect(linkD.unpackages.overtakes).toBeGreaterThan(0);
  });

  it.each(['0', '3', 'x'])('refuses --in-flight %s before it asks the device for anything', async (n) => {
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await runPipe({
      // Nothing listens on this device address: a request would fail with LINK_UNREACHABLE, not INVALID_ARGUMENT.
      argv: [
        '-e',
        '-s',
        '127.0.0.1:0',
        '-t',
        '127.0.0.1:9',
        '--contact',
        'bob',
        '--device',
        'http://127.0.0.1:9',
      ].concat(['--in-flight', n]),
      stdout: new PassThrough(),
      stderr,
      signal: new AbortController().signal,
      stdin: new PassThrough(),
    });
    expect(code).toBe(64);
    expect(err).toMatch(/INVALID_ARGUMENT/);
    expect(err).toMatch(/in-flight/);
  });
});
