/**
 * Burned bytes are never used as pad: a ledger that falls behind its pad file (a restored backup, a card that
 * dropped a flush, a second process's recovery) must turn into a refusal, never into a clear-text send or a
 * package accepted under an all-zero key.
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { sideAreas } from '../../device/layout.js';
import { padFilePath } from '../../device/pad-file.js';
import { makePair, type Pair, text, utf8 } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';
import { forge } from './attack-helpers.js';

let pair: Pair | undefined;
afterEach(() => {
  pair?.cleanup();
  pair = undefined;
});

/** Keep a copy of a closed data dir's ledger, to put back later (the ledger "falls behind"). */
function backupLedger(dir: string): () => void {
  const ledger = join(dir, 'ledger.db');
  expect(existsSync(`${ledger}-wal`)).toBe(false); // closed: the exclusive WAL is checkpointed and gone
  copyFileSync(ledger, `${ledger}.bak`);
  return () => {
    rmSync(`${ledger}-wal`, { force: true });
    copyFileSync(`${ledger}.bak`, ledger);
  };
}

describe('burned bytes are never used as pad', () => {
  it('a sender whose ledger fell behind refuses with PAD_BURNED and an event; nothing is sent', async () => {
    pair = makePair(4096);
    let a = pair.openA();
    await a.package('bob', utf8('first'));
    a.close();
    const restore = backupLedger(pair.dirA);
    a = pair.openA();
    const sent = await a.package('bob', utf8('second, then the ledger is restored'));
    a.close();
    restore();
    a = pair.openA();
    // The ledger now hands out index 1 and its stream range again: both were burned when "second" was sent.
    expect(a.pads()[0]?.sendIndex).toBe(1);
    await expect(a.package('bob', utf8('this must never leave in the clear'))).rejects.toMatchObject({
      code: 'PAD_BURNED',
    });
    const ev = a.events.recent(5, ['PAD_BURNED'])[0];
    expect(ev).toMatchObject({ kind: 'PAD_BURNED', padId: pair.padId, detail: { path: 'send', index: 1 } });
    // The peer still accepts the package that really was sent with those bytes.
    const b = pair.openB();
    expect(text((await b.unpackage(sent.package)).plaintext)).toBe('second, then the ledger is restored');
  });

  it('a receiver whose ledger fell behind refuses a replay of burned bytes (PAD_BURNED), and a zero-key forgery', async () => {
    pair = makePair(4096);
    const a = pair.openA();
    const m = await a.package('bob', utf8('delivered once'));
    let b = pair.openB();
    b.close();
    const restore = backupLedger(pair.dirB);
    b = pair.openB();
    await b.unpackage(m.package);
    b.close();
    restore();
    b = pair.openB();
    expect(b.received(pair.padId)).toEqual([]);
    const before = stateHash(pair.dirB);
    await expect(b.unpackage(m.package)).rejects.toMatchObject({ code: 'PAD_BURNED' });
    // What the race of issue 11 produced: zero key, zero key stream, so ciphertext = plaintext and tag = Poly1305
    // under key 0 = 0. Anyone can make it; it must not be accepted.
    const areas = sideAreas(b.pads()[0]!, 'A');
    const zero = forge(
      'A',
      hexToBytes(pair.padId),
      0,
      areas.stream.start,
      utf8('delivered once'),
      new Uint8Array(32),
      new Uint8Array(14),
    );
    await expect(b.unpackage(zero)).rejects.toMatchObject({ code: 'PAD_BURNED' });
    expect(stateHash(pair.dirB)).toBe(before);
    expect(b.events.total('PAD_BURNED')).toBe(2);
  });

  it('the check looks at the bytes, not at the ledger: a zeroed block inside a long stream range is refused', async () => {
    pair = makePair(4096);
    const a = pair.openA();
    a.close();
    const file = padFilePath(join(pair.dirA, 'pads'), pair.padId);
    const bytes = readFileSync(file);
    const streamStart = 320; // 10 key slots of 32 bytes on a 4096-byte pad
    bytes.fill(0, streamStart + 40, streamStart + 56);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, bytes);
    const a2 = pair.openA();
    await expect(a2.package('bob', new Uint8Array(100).fill(9))).rejects.toMatchObject({ code: 'PAD_BURNED' });
    // The next message starts past the refused one's bytes and goes out normally.
    const ok = await a2.package('bob', utf8('fine'));
    expect(ok.package.length).toBe(4 + 50);
  });
});
