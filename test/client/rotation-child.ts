/**
 * The IPv6-rotating abuser of relay-rotation.test.ts, run inside its own network namespace (where a local route
 * lets it take any address of its /48): it registers names from many /64s of its site, then opens connections
 * from many /64s that never finish their headers; an honest user of another /48 registers a name meanwhile.
 * Prints one JSON line of outcomes. Usage: node --import tsx test/client/rotation-child.ts JSON
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { newRelayToken } from '../../client/relay-client.js';

const o = JSON.parse(process.argv[2] as string) as { url: string; site: string; other: string; prefixes: number };
const base = new URL(o.url);
const host = base.hostname.replace(/^\[|\]$/g, '');
const hex = (n: number) => (n % 65536 || 1).toString(16);
const addr = (site: string, i: number, j: number) =>
  `${site}:${hex(i + 1)}:${hex(j * 40503 + 7)}:${hex(j + 1)}:1:${hex(i * 31 + j)}`;

function register(localAddress: string, name: string): Promise<string> {
  const body = Buffer.from(
    JSON.stringify({ from: name, to: 'victim', package: Buffer.alloc(80, 3).toString('base64') }),
  );
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port: base.port,
        method: 'POST',
        path: '/messages',
        localAddress,
        headers: {
          authorization: `Bearer ${newRelayToken()}`,
          'content-type': 'application/json',
          'content-length': body.length,
          connection: 'close',
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += String(d);
        });
        res.on('end', () => {
          try {
            const e = (JSON.parse(text) as { error?: { code: string; details?: { scope?: string } } }).error;
            resolve(e ? `${e.code}:${e.details?.scope ?? ''}` : 'ok');
          } catch {
            resolve(`status ${res.statusCode}`);
          }
        });
      },
    );
    req.on('error', (e) => resolve(`error ${(e as { code?: string }).code}`));
    req.end(body);
  });
}

const names: Record<string, number> = {};
for (let i = 0; i < o.prefixes; i++) {
  for (let j = 0; j < 3; j++) {
    const c = await register(addr(o.site, i, j), `r${i}x${j}`);
    names[c] = (names[c] ?? 0) + 1;
  }
}

// Slowloris from one /64 per connection: how many does the relay keep open?
const sockets = Array.from({ length: o.prefixes }, (_, i) => {
  const s = connect({ host, port: Number(base.port), localAddress: addr(o.site, 1000 + i, i) });
  s.on('error', () => undefined);
  s.on('connect', () => s.write('POST /messages HTTP/1.1\r\nHost: relay\r\nX-Slow: '));
  return s;
});
// Wait until every socket is connected or closed, then a little for the relay to close those beyond the share.
const until = Date.now() + 10_000;
while (sockets.some((s) => s.connecting) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 500));
const open = sockets.filter((s) => !s.destroyed && !s.closed && s.readyState === 'open').length;
const honest = await register(addr(o.other, 1, 1), 'honest');
for (const s of sockets) s.destroy();
process.stdout.write(`${JSON.stringify({ names, open, honest })}\n`);
