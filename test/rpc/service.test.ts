/**
 * The device service's stop (what SIGTERM does) while requests are in flight, over loopback sockets.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfirmDecision, Confirmer } from '../../device/confirm.js';
import { LinkClient } from '../../rpc/client.js';
import { startDeviceService } from '../../rpc/service.js';
import { makePair, type Pair } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';

const LINK = { link: { address: '127.0.0.1', peer: '127.0.0.1' }, confirm: { queueLength: 2 } };

let pair: Pair;
beforeEach(() => {
  pair = makePair(4096);
});
afterEach(() => pair.cleanup());

/** A user who looks at the screen until told the answer (or until the wait is aborted: timeout). */
class SlowUser implements Confirmer {
  asked = 0;
  private decide: ((d: ConfirmDecision) => void) | null = null;
  constructor(private readonly honourAbort: boolean) {}
  confirm(_req: unknown, signal?: AbortSignal): Promise<ConfirmDecision> {
    this.asked++;
    return new Promise((resolve) => {
      this.decide = resolve;
      if (this.honourAbort) signal?.addEventListener('abort', () => resolve('timeout'), { once: true });
    });
  }
  approve(): void {
    this.decide?.('approved');
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

async function settle<T>(p: Promise<T>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? 'other';
  }
}

describe('stopping the device service', () => {
  it('while the user is deciding: the wait ends as CONFIRM_TIMEOUT, waiting requests get SHUTTING_DOWN, no pad used', async () => {
    const user = new SlowUser(true);
    const before = stateHash(pair.dirA);
    const svc = await startDeviceService({ config: pair.configA(LINK), confirmer: user, simulated: true, port: 0 });
    const client = new LinkClient({ url: `http://127.0.0.1:${svc.port}` });
    const first = settle(client.package('bob', { text: 'first' }));
    await until(() => user.asked === 1);
    const second = settle(client.package('bob', { text: 'second' }));
    await until(() => svc.server.rpcQueue.waitingCount === 1);
    await svc.stop();
    expect(await first).toBe('CONFIRM_TIMEOUT');
    expect(await second).toBe('SHUTTING_DOWN');
    expect(stateHash(pair.dirA)).toBe(before);
    // Closed: nothing listens any more.
    expect(await settle(client.package('bob', { text: 'third' }))).toBe('LINK_UNREACHABLE');
  });

  it('when the user approves as the stop begins: the committed package is still answered and kept', async () => {
    const user = new SlowUser(false);
    const svc = await startDeviceService({ config: pair.configA(LINK), confirmer: user, simulated: true, port: 0 });
    const client = new LinkClient({ url: `http://127.0.0.1:${svc.port}` });
    const first = client.package('bob', { text: 'approved just in time' });
    await until(() => user.asked === 1);
    const stopping = svc.stop();
    setTimeout(() => user.approve(), 100);
    await stopping;
    // The stop waited for the request in service: its commit is answered, and kept.
    const answer = await first;
    const alice = pair.openA();
    // v2: one key slot and the message's stream bytes are used.
    const pad = alice.pads()[0]!;
    expect(pad.sendIndex).toBe(1);
    expect(pad.cursor).toBe(32 * pad.keySlotsA + 'approved just in time'.length);
    const opened = await pair.openB().unpackage(Buffer.from(answer.package, 'base64'));
    expect(new TextDecoder().decode(opened.plaintext ?? new Uint8Array())).toBe('approved just in time');
  });
});
