/**
 * A bounded load on a relay: honest chat users (each sends to the next one and fetches and acknowledges what
 * waits for it, at a steady pace) and one abusive source that first registers as many new names as it can and
 * floods one honest user's queue with large packages from every name it got, then holds as many connections
 * open as it can with headers that never end (slowloris). Each role can run in process (loopback, with a source address
 * of its own) or as a process in a network namespace:
 *
 *   node --import tsx bench/relay-load.ts honest|abuser|relay JSON
 *
 * prints one JSON line: the role's result (or, for `relay`, `{"ready":PORT}` and then serves until SIGTERM).
 * Used by test/client/relay-abuse.test.ts (behaviour) and bench/relay-abuse.ts (figures).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';

/** What one request ended as: `ok`, a registry code, or a transport failure. */
export type Outcome = string;

export interface HonestOptions {
  readonly url: string;
  readonly localAddress?: string;
  readonly name: string;
  readonly peer: string;
  readonly durationMs: number;
  /** Pause between rounds (one send, one fetch, one ack when something came). */
  readonly intervalMs: number;
  /** Start only after this long (a user who joins while the abuse is going on). */
  readonly delayMs?: number;
  /** Start when this file exists (every process of a run waits for it); durations count from then. */
  readonly goFile?: string;
}

export interface HonestResult {
  readonly role: 'honest';
  readonly name: string;
  readonly sends: Record<Outcome, number>;
  readonly fetches: Record<Outcome, number>;
  /** Messages this user received from its sender. */
  readonly received: number;
  readonly latenciesMs: number[];
}

export interface AbuserOptions {
  readonly url: string;
  readonly localAddress?: string;
  /** The honest user whose queue it floods. */
  readonly victim: string;
  readonly durationMs: number;
  /** Connections it tries to hold open with endless headers. */
  readonly slowConnections: number;
  /** Concurrent senders in the flood. */
  readonly concurrency: number;
  /** Package size it sends (bytes, decoded). */
  readonly packageBytes: number;
  /** The slowloris starts this long after the floods (default: at once). */
  readonly slowAfterMs?: number;
  readonly goFile?: string;
}

export interface AbuserResult {
  readonly role: 'abuser';
  /** Names it managed to register. */
  readonly names: number;
  readonly nameAttempts: Record<Outcome, number>;
  readonly sends: Record<Outcome, number>;
  /** Slow connections the relay let in and then cut off with REQUEST_TIMEOUT. */
  readonly slowTimedOut: number;
  /** Slow connections opened in all (each closed by the relay is opened again). */
  readonly slowOpened: number;
}

interface Answer {
  readonly status: number;
  readonly json: unknown;
}

function httpCall(
  agent: Agent,
  base: URL,
  method: 'GET' | 'POST',
  path: string,
  token: string,
  body: unknown,
  localAddress: string | undefined,
): Promise<Answer> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method,
        path,
        ...(localAddress ? { localAddress } : {}),
        timeout: 20_000,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', () => resolve({ status: 0, json: { transport: 'response broke' } }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, json: { transport: (e as { code?: string }).code ?? 'error' } }));
    req.end(payload);
  });
}

function outcome(a: Answer): Outcome {
  if (a.status === 200) return 'ok';
  const err = (a.json as { error?: { code?: string; details?: { scope?: string } } } | undefined)?.error;
  if (err?.code) return err.details?.scope ? `${err.code}:${err.details.scope}` : err.code;
  const t = (a.json as { transport?: string } | undefined)?.transport;
  return t ? `transport:${t}` : `status:${a.status}`;
}

function count(into: Record<Outcome, number>, o: Outcome): void {
  into[o] = (into[o] ?? 0) + 1;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `goFile` exists (no file given: at once); returns when that was. */
async function waitForGo(goFile: string | undefined): Promise<number> {
  while (goFile !== undefined && !existsSync(goFile)) await sleep(20);
  return Date.now();
}
const token = () => randomBytes(32).toString('base64url');

/** Deterministic per-user token, so that honest users of separate processes can be named by the test. */
function honestToken(name: string): string {
  return Buffer.from(`onepad-load-${name}`.padEnd(32, '.')).subarray(0, 32).toString('base64url');
}

/** One honest user: a round every `intervalMs` of one send to its peer, one fetch and an ack of what came. */
export async function runHonest(o: HonestOptions): Promise<HonestResult> {
  const base = new URL(o.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const tok = honestToken(o.name);
  const sends: Record<Outcome, number> = {};
  const fetches: Record<Outcome, number> = {};
  const latenciesMs: number[] = [];
  let received = 0;
  let after = 0;
  const start = await waitForGo(o.goFile);
  await sleep(o.delayMs ?? 0);
  const end = start + o.durationMs;
  let i = 0;
  while (Date.now() < end) {
    const t0 = performance.now();
    const pkg = Buffer.alloc(200, i++ % 251).toString('base64');
    const s = await httpCall(
      agent,
      base,
      'POST',
      '/messages',
      tok,
      { from: o.name, to: o.peer, package: pkg },
      o.localAddress,
    );
    latenciesMs.push(performance.now() - t0);
    count(sends, outcome(s));
    const f = await httpCall(
      agent,
      base,
      'GET',
      `/messages?to=${encodeURIComponent(o.name)}&after=${after}`,
      tok,
      undefined,
      o.localAddress,
    );
    count(fetches, outcome(f));
    const msgs = (f.json as { messages?: { ref: number; from: string }[] } | undefined)?.messages ?? [];
    if (f.status === 200 && msgs.length > 0) {
      received += msgs.filter((m) => m.from !== o.name).length;
      after = Math.max(after, ...msgs.map((m) => m.ref));
      await httpCall(agent, base, 'POST', '/ack', tok, { to: o.name, refs: msgs.map((m) => m.ref) }, o.localAddress);
    }
    await sleep(o.intervalMs);
  }
  agent.destroy();
  return { role: 'honest', name: o.name, sends, fetches, received, latenciesMs };
}

/** The abusive source: slowloris, a name flood and a queue flood against `victim`, all at once. */
export async function runAbuser(o: AbuserOptions): Promise<AbuserResult> {
  const base = new URL(o.url);
  const start = await waitForGo(o.goFile);
  const end = start + o.durationMs;
  const nameAttempts: Record<Outcome, number> = {};
  const sends: Record<Outcome, number> = {};
  const names: { name: string; token: string }[] = [];

  // Slowloris: connections that send a request line and then a header byte now and then, never finishing.
  const slow = new Set<Socket>();
  let slowOpened = 0;
  let slowTimedOut = 0;
  const openSlow = () => {
    if (Date.now() >= end) return;
    slowOpened++;
    const s = connect({
      host: base.hostname,
      port: Number(base.port),
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    });
    const opened = Date.now();
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      if (d.toString('latin1').startsWith('HTTP/1.1 408')) slowTimedOut++;
    });
    s.on('connect', () => s.write(`POST /messages HTTP/1.1\r\nHost: relay\r\nX-a: `));
    s.on('close', () => {
      slow.delete(s);
      // Reopen at once what the relay closed (but not faster than every 50 ms per slot).
      setTimeout(openSlow, Math.max(0, 50 - (Date.now() - opened)));
    });
    slow.add(s);
  };
  const slowStart = setTimeout(() => {
    for (let i = 0; i < o.slowConnections; i++) openSlow();
  }, o.slowAfterMs ?? 0);
  const drip = setInterval(() => {
    for (const s of slow) if (!s.destroyed) s.write('a');
  }, 200);

  // The floods share a pool of ordinary connections.
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const pkg = Buffer.alloc(o.packageBytes, 0x5a).toString('base64');
  let n = 0;
  // The floods run until the slowloris starts (or to the end without one): both from one address would only
  // compete for the same per-source connections.
  const floodEnd = o.slowConnections > 0 ? start + (o.slowAfterMs ?? 0) : end;
  const worker = async () => {
    while (Date.now() < floodEnd) {
      // Every other request tries a new name; the rest send from the names it has, round robin.
      if (n % 2 === 0 || names.length === 0) {
        const me = { name: `x${process.pid}-${n++}`, token: token() };
        const a = await httpCall(
          agent,
          base,
          'POST',
          '/messages',
          me.token,
          { from: me.name, to: o.victim, package: pkg },
          o.localAddress,
        );
        const oc = outcome(a);
        count(nameAttempts, oc);
        // A send refused only after registering (a full queue, the byte rate) still registered the name; one refused
        // by the name limit, or by the source's send limit before its body was read, registered nothing.
        const before = oc.endsWith(':names') || oc.endsWith(':source');
        if (a.status === 200 || (oc.startsWith('RELAY_') && !before)) names.push(me);
        if (a.status === 200) count(sends, 'ok');
      } else {
        const me = names[n++ % names.length] as { name: string; token: string };
        const a = await httpCall(
          agent,
          base,
          'POST',
          '/messages',
          me.token,
          { from: me.name, to: o.victim, package: pkg },
          o.localAddress,
        );
        count(sends, outcome(a));
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  agent.destroy();
  await sleep(Math.max(0, end - Date.now()));
  clearTimeout(slowStart);
  clearInterval(drip);
  for (const s of slow) s.destroy();
  agent.destroy();
  return { role: 'abuser', names: names.length, nameAttempts, sends, slowTimedOut, slowOpened };
}

/** Fraction of a role's sends that were answered `ok`. */
export function okShare(counts: Record<Outcome, number>): number {
  const all = Object.values(counts).reduce((a, b) => a + b, 0);
  return all === 0 ? 0 : (counts.ok ?? 0) / all;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [role, json] = process.argv.slice(2) as [string, string];
  process.stdout.write(`${JSON.stringify({ loaded: role })}\n`);
  const opts = JSON.parse(json) as Record<string, unknown>;
  if (role === 'honest') process.stdout.write(`${JSON.stringify(await runHonest(opts as unknown as HonestOptions))}\n`);
  else if (role === 'abuser')
    process.stdout.write(`${JSON.stringify(await runAbuser(opts as unknown as AbuserOptions))}\n`);
  else if (role === 'relay') {
    const { parseRelayConfig } = await import('../client/relay-config.js');
    const { startRelay } = await import('../client/relay-service.js');
    const relay = await startRelay({ config: parseRelayConfig(opts) });
    process.stdout.write(`${JSON.stringify({ ready: relay.port })}\n`);
    await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
    const stats = {
      peakConnectionsPerSource: relay.server.sourceConnections.peak(),
      peakConnectionsPerSite: relay.server.sourceConnections.sitePeak(),
      waiting: relay.store.count(),
    };
    await relay.stop();
    process.stdout.write(`${JSON.stringify(stats)}\n`);
  } else {
    process.stderr.write('usage: relay-load.ts honest|abuser|relay JSON\n');
    process.exitCode = 64;
  }
}
