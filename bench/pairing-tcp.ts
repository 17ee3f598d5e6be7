/**
 * Raw TCP over the pairing link, the baseline of the pairing benchmark. Two modes, each run in its namespace:
 *
 * - `pairing-tcp.ts recv <iface> <bytes>`: listen on the interface's IPv6 link-local address (never a wildcard),
 *   print `listening {"address","port"}`, take one connection, read `bytes`, and print `result {"seconds"}` timed
 *   from the accepted connection to the last byte.
 * - `pairing-tcp.ts send <address> <iface> <port> <bytes>`: connect to address%iface and write `bytes` in 1 MiB
 *   writes, honouring backpressure.
 */
import { connect, createServer } from 'node:net';
import { linkLocalAddress } from '../provisioning/discovery.js';

const CHUNK = 1 << 20;
const [mode, ...args] = process.argv.slice(2);

function print(tag: string, value: unknown): void {
  process.stdout.write(`${tag} ${JSON.stringify(value)}\n`);
}

if (mode === 'recv') {
  const [iface, bytesArg] = args as [string, string];
  const total = Number(bytesArg);
  const scoped = linkLocalAddress(iface);
  const address = scoped.slice(0, scoped.indexOf('%'));
  const server = createServer((sock) => {
    server.close();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let got = 0;
    let done = false;
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (!done && got >= total) {
        done = true;
        const c = process.cpuUsage(c0);
        print('result', {
          bytes: got,
          seconds: (performance.now() - t0) / 1000,
          cpuSeconds: (c.user + c.system) / 1e6,
        });
        sock.end();
      }
    });
    sock.on('close', () => {
      if (got < total) {
        print('result', { error: `connection closed after ${got} of ${total} bytes` });
        process.exitCode = 3;
      }
    });
  });
  server.listen({ host: scoped, port: 0 }, () => {
    print('listening', { address, port: (server.address() as { port: number }).port });
  });
} else if (mode === 'send') {
  const [address, iface, portArg, bytesArg] = args as [string, string, string, string];
  const total = Number(bytesArg);
  const buf = new Uint8Array(CHUNK);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 131) & 0xff;
  const sock = connect({ host: `${address}%${iface}`, port: Number(portArg) });
  sock.setNoDelay(true);
  sock.on('error', (e) => {
    print('sent', { error: e.message });
    process.exitCode = 3;
  });
  sock.on('connect', async () => {
    const c0 = process.cpuUsage();
    for (let sent = 0; sent < total; ) {
      const n = Math.min(CHUNK, total - sent);
      sent += n;
      if (!sock.write(n === CHUNK ? buf : buf.subarray(0, n))) {
        await new Promise<void>((resolve) => sock.once('drain', resolve));
      }
    }
    sock.end(() => {
      const c = process.cpuUsage(c0);
      print('sent', { bytes: total, cpuSeconds: (c.user + c.system) / 1e6 });
    });
  });
} else {
  throw new Error('usage: pairing-tcp.ts recv <iface> <bytes> | send <address> <iface> <port> <bytes>');
}
