/**
 * In-process pairing fixture: two data dirs, two loopback-connected FrameConnections, seeded pad sources.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../device/config/config.js';
import type { ConfirmDecision } from '../../device/confirm.js';
import { prepareDataDir } from '../../device/data-dir.js';
import { EventLog } from '../../device/events.js';
import { Ledger } from '../../device/ledger/ledger.js';
import { fillSeeded, seededKey } from '../../device/seeded.js';
import { FrameConnection } from '../../provisioning/connection.js';
import type { PadSource, PairApprover, PairingDeps, PairRequest } from '../../provisioning/protocol.js';

/** A pad source over the seeded stream that counts what it handed out and zeroes nothing it keeps. */
export class SeededSource implements PadSource {
  consumed = 0;
  private readonly key: Uint8Array;
  constructor(
    seed: string,
    public size: number,
    public insecure = true,
  ) {
    this.key = seededKey(seed);
  }
  available(): number {
    return this.size - this.consumed;
  }
  take(n: number): { bytes: Uint8Array; insecure: boolean } {
    if (n > this.available()) throw new Error('source exhausted');
    const start = this.consumed - (this.consumed % 64);
    const buf = new Uint8Array(n + (this.consumed - start));
    fillSeeded(this.key, buf, start);
    const bytes = buf.slice(this.consumed - start);
    buf.fill(0);
    this.consumed += n;
    return { bytes, insecure: this.insecure };
  }
}

export class ScriptedApprover implements PairApprover {
  readonly asked: PairRequest[] = [];
  constructor(public answer: ConfirmDecision | 'never' = 'approved') {}
  approvePairing(req: PairRequest, signal: AbortSignal): Promise<ConfirmDecision> {
    this.asked.push(req);
    if (this.answer !== 'never') return Promise.resolve(this.answer);
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve('timeout'), { once: true }));
  }
}

export interface Side {
  dir: string;
  ledger: Ledger;
  events: EventLog;
  padsDir: string;
}

export function makeSide(root: string, name: string): Side {
  const layout = prepareDataDir(join(root, name));
  return {
    dir: layout.root,
    ledger: Ledger.open(layout.ledger),
    events: new EventLog(layout.events),
    padsDir: layout.pads,
  };
}

/** Two sockets joined over loopback. */
export async function socketPair(): Promise<[Socket, Socket]> {
  return new Promise((resolve, reject) => {
    const server = createServer((serverSide) => {
      server.close();
      resolve([client, serverSide]);
    });
    let client: Socket;
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address() as { port: number };
      client = connect(addr.port, '127.0.0.1');
    });
  });
}

export const testPairingConfig = (o: Record<string, unknown> = {}) =>
  parseConfig({ dataDir: '/unused', pairing: { chunkBytes: 4096, ioTimeoutMs: 2000, approvalTimeoutMs: 1500, ...o } })
    .pairing;

export function padFiles(side: Side): string[] {
  return readdirSync(side.padsDir);
}

export function tempRoot(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'onepad-pair-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function depsFor(
  side: Side,
  role: 'initiator' | 'responder',
  name: string,
  socket: Socket,
  source: PadSource,
  approver: PairApprover,
  extra: Partial<PairingDeps> = {},
): PairingDeps {
  return {
    role,
    name,
    conn: new FrameConnection(socket, 16_777_216 + 64),
    source,
    ledger: side.ledger,
    events: side.events,
    padsDir: side.padsDir,
    approver,
    config: testPairingConfig(),
    ...extra,
  };
}
