/**
 * Two simulated devices (engines on a seeded pair, link servers on real sockets) and the pipe ends of their
 * laptops, for the pipe tests and the bench. Addresses are given, so the same code runs on loopback and inside
 * network namespaces.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { runPipe } from '../../client/pipe-cli.js';
import type { Confirmer } from '../../device/confirm.js';
import type { DeviceEngine } from '../../device/engine.js';
import { build, listen, type RpcServer } from '../../rpc/server.js';
import type { Pair } from '../helpers/engine-fixture.js';

/** A device's link server on `address`, any free port. */
export async function startLink(
  pair: Pair,
  side: 'A' | 'B',
  address: string,
  confirmer: Confirmer,
  engineDeps: Record<string, unknown> = {},
): Promise<{ server: RpcServer; engine: DeviceEngine; url: string }> {
  const link = { link: { address, peer: address } };
  const engine =
    side === 'A' ? pair.openA({ confirmer, ...engineDeps }, link) : pair.openB({ confirmer, ...engineDeps }, link);
  const config = side === 'A' ? pair.configA(link) : pair.configB(link);
  const server = build({ engine, config });
  const bound = await listen(server, config.link, { simulated: true, port: 0 });
  return { server, engine, url: `http://${address}:${bound.port}` };
}

/** A running `onepad pipe` in this process: its listening address, its stderr, its exit. */
export interface PipeEnd {
  readonly port: number;
  readonly stderr: () => string;
  readonly exit: Promise<number>;
  stop(): Promise<number>;
}

/** Start `onepad pipe` with `argv`, resolving once it listens (for -e and -d). */
export function startPipe(argv: string[]): Promise<PipeEnd> {
  const ac = new AbortController();
  let err = '';
  const stderr = new PassThrough();
  stderr.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const exit = runPipe({
      argv,
      stdout: new PassThrough(),
      stderr,
      signal: ac.signal,
      stdin: new PassThrough(),
      onListening: (a) => {
        if (typeof a === 'string') return;
        resolve({
          port: a.port,
          stderr: () => err,
          exit,
          stop: () => {
            ac.abort();
            return exit;
          },
        });
      },
    });
    void exit.then((code) => reject(new Error(`pipe exited ${code} before listening: ${err}`)));
  });
}

/** A TCP echo server on `address`. */
export async function startEcho(address: string): Promise<{ server: Server; port: number }> {
  const server = createServer({ noDelay: true }, (s: Socket) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, address, () => r()));
  return { server, port: (server.address() as { port: number }).port };
}
