/**
 * The simulator's web server, on loopback only: the page, each screen's latest frame (PNG), a stream of frame
 * numbers, each screen's debug layout (what it says and where its buttons are, for tests), and touch input.
 * Requests whose Host header is not this server's loopback address are refused (no DNS rebinding), and so are
 * requests another origin's page made (an Origin other than this server's, a cross-site Sec-Fetch-Site): a page
 * elsewhere cannot press or hold a button. No page may frame this one (frame-ancestors 'none', X-Frame-Options
 * DENY), so a hold cannot be clickjacked.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DeviceScreen } from '../../../display/device-screen.js';
import { simulatorPage } from './page.js';

export interface PageServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Headers every answer carries: no caching, no sniffing, no framing by any page. */
export const PAGE_HEADERS = Object.freeze({
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
});

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'content-type': type });
  res.end(body);
}

/** True when a browser would mark this request as made by another site's page. */
/** How many Host lines a request has (Node's headers object keeps only the first). */
function hostLines(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'host') n++;
  return n;
}

function fromOtherOrigin(req: IncomingMessage, origins: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && !origins.has(origin)) return true;
  const site = req.headers['sec-fetch-site'];
  return site !== undefined && site !== 'same-origin' && site !== 'none';
}

function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        resolve(null);
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

/**
 * Serve the page for these screens on 127.0.0.1:`port` (0 = any free port). Keys name the screens in URLs and
 * element ids: letters, digits, `.`, `_` and `-` only.
 * @throws Error for a key with other characters
 */
export function startPageServer(screens: Readonly<Record<string, DeviceScreen>>, port = 0): Promise<PageServer> {
  const names = Object.keys(screens);
  const bad = names.find((n) => !/^[A-Za-z0-9._-]+$/.test(n));
  if (bad !== undefined) return Promise.reject(new Error(`screen key ${JSON.stringify(bad)} is not URL-safe`));
  const html = simulatorPage(names);
  const streams = new Set<ServerResponse>();
  let hostOk = (_host: string | undefined) => false;
  let origins: ReadonlySet<string> = new Set();
  const server = createServer(async (req, res) => {
    if (!hostOk(req.headers.host) || hostLines(req.rawHeaders) !== 1)
      return send(res, 421, 'text/plain', 'wrong host\n');
    if (fromOtherOrigin(req, origins)) return send(res, 403, 'text/plain', 'another origin\n');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', html);
    const m = /^\/api\/([A-Za-z0-9._-]+)\/(frame\.png|events|layout|input)$/.exec(url.pathname);
    const screen = m ? screens[m[1] as string] : undefined;
    if (!m || !screen?.sim) return send(res, 404, 'text/plain', 'not found\n');
    const what = m[2];
    if (req.method === 'GET' && what === 'frame.png') {
      for (const [k, v] of Object.entries(PAGE_HEADERS)) res.setHeader(k, v);
      return screen.sim.sink.sendFrame(res);
    }
    if (req.method === 'GET' && what === 'layout') {
      return send(res, 200, 'application/json', JSON.stringify(screen.ui.debugLayout()));
    }
    if (req.method === 'GET' && what === 'events') {
      res.writeHead(200, { ...PAGE_HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
      res.write(`data: ${screen.sim.sink.frames}\n\n`);
      const off = screen.sim.sink.onFrame((n) => res.write(`data: ${n}\n\n`));
      streams.add(res);
      req.on('close', () => {
        off();
        streams.delete(res);
      });
      return;
    }
    if (req.method === 'POST' && what === 'input') {
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
        return send(res, 415, 'text/plain', 'json only\n');
      const body = await readBody(req, 256);
      let e: { phase?: unknown; x?: unknown; y?: unknown };
      try {
        e = JSON.parse(body ?? '') as typeof e;
      } catch {
        return send(res, 400, 'text/plain', 'bad input\n');
      }
      const { width, height } = screen.sim.sink;
      const x = e.x;
      const y = e.y;
      if (
        !['down', 'move', 'up'].includes(e.phase as string) ||
        !Number.isInteger(x) ||
        !Number.isInteger(y) ||
        (x as number) < 0 ||
        (x as number) >= width ||
        (y as number) < 0 ||
        (y as number) >= height
      ) {
        return send(res, 400, 'text/plain', 'bad input\n');
      }
      const input = screen.sim.input;
      if (e.phase === 'down') input.press(x as number, y as number);
      else if (e.phase === 'move') input.move(x as number, y as number);
      else input.release(x as number, y as number);
      return send(res, 204, 'text/plain', '');
    }
    return send(res, 404, 'text/plain', 'not found\n');
  });
  // Every header line is seen (Node drops those beyond 2,000 by default, an Origin among them); 16 KiB bound them.
  server.maxHeadersCount = 0;
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as { port: number }).port;
      const allowed = new Set([`127.0.0.1:${bound}`, `localhost:${bound}`]);
      hostOk = (host) => host !== undefined && allowed.has(host);
      origins = new Set([...allowed].map((h) => `http://${h}`));
      resolve({
        url: `http://127.0.0.1:${bound}/`,
        server,
        close: () =>
          new Promise<void>((done) => {
            for (const s of streams) s.end();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
