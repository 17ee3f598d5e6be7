/**
 * The user of a pipe: `node --import tsx test/pipe/netns-client-child.ts <address> <port> <mode> [n]`.
 *   interactive N   N one-byte writes, each waiting for its echo; prints {"ok":true,"rttMs":[...]}
 *   bulk N          writes N bytes, reads them back, compares; prints {"ok":true,"bytes":N,"ms":…}
 * On a broken stream prints {"ok":false,"got":bytes,"error":"…"}.
 */

import { connect } from 'node:net';
import { writeLine } from '../helpers/line-out.js';

const [address, port, mode, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 100);
const out = (o: unknown) => writeLine(JSON.stringify(o));
const s = connect({ host: address, port: Number(port) });
s.setNoDelay(true);
let got = 0;
let closed = false;
s.on('error', () => undefined);
s.on('close', () => {
  closed = true;
  if (pendingResolve) pendingResolve(false);
});
let pendingResolve: ((ok: boolean) => void) | null = null;
let want = 0;
const chunks: Buffer[] = [];
s.on('data', (c: Buffer) => {
  got += c.length;
  chunks.push(c);
  if (pendingResolve && got >= want) {
    const r = pendingResolve;
    pendingResolve = null;
    r(true);
  }
});
const until = (bytes: number) =>
  new Promise<boolean>((resolve) => {
    want = bytes;
    if (got >= bytes) resolve(true);
    else if (closed) resolve(false);
    else pendingResolve = resolve;
  });
await new Promise((r) => s.once('connect', r));
if (mode === 'interactive') {
  const rtt: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    s.write(String.fromCharCode(97 + (i % 26)));
    if (!(await until(i + 1))) {
      out({ ok: false, got, error: 'closed' });
      process.exit(0);
    }
    rtt.push(performance.now() - t);
  }
  const text = Buffer.concat(chunks).toString();
  const expected = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
  out({ ok: text === expected, rttMs: rtt });
} else {
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = (i * 131 + (i >> 9)) & 0xff;
  const t = performance.now();
  s.write(data);
  const ok = await until(n);
  const ms = performance.now() - t;
  if (!ok) out({ ok: false, got, error: 'closed' });
  else out({ ok: Buffer.concat(chunks).subarray(0, n).equals(data), bytes: n, ms });
}
s.destroy();
process.exit(0);
