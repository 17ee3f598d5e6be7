/**
 * Raw HTTP over a real TCP socket: the bytes exactly as given (no client library fixing up headers), and the
 * answer as the server wrote it.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  /** The whole answer as text (latin1, so every byte survives). */
  readonly raw: string;
  /** The status of the first answer, or 0 when the server closed without answering. */
  readonly status: number;
  /** The body of the first answer parsed as JSON, or undefined. */
  readonly json: unknown;
}

/**
 * Send `bytes` to host:port, half-close when `end` (default true), and collect everything until the server closes
 * (or `timeoutMs`).
 */
export function rawRequest(
  port: number,
  bytes: string | Uint8Array,
  opts: { host?: string; localAddress?: string; end?: boolean; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const s = connect({
      port,
      host: opts.host ?? '127.0.0.1',
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      const head = raw.indexOf('\r\n\r\n');
      let json: unknown;
      if (head >= 0) {
        const lenMatch = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(0, head));
        const body = raw.slice(head + 4, lenMatch ? head + 4 + Number(lenMatch[1]) : undefined);
        try {
          json = JSON.parse(Buffer.from(body, 'latin1').toString('utf8'));
        } catch {
          json = undefined;
        }
      }
      resolve({ raw, status: m ? Number(m[1]) : 0, json });
    };
    const timer = setTimeout(() => s.destroy(), opts.timeoutMs ?? 5000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', done);
    s.on('connect', () => {
      if (opts.end === false) s.write(bytes);
      else s.end(bytes);
    });
  });
}

/** A JSON POST request, byte for byte, with the given extra header lines. */
export function rawPost(path: string, host: string | null, body: string | Uint8Array, extra: string[] = []): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  const head = [
    `POST ${path} HTTP/1.1`,
    ...(host === null ? [] : [`Host: ${host}`]),
    'Content-Type: application/json',
    `Content-Length: ${b.length}`,
    'Connection: close',
    ...extra,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), b]);
}
