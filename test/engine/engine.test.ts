import { readFileSync, statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sideAreas } from '../../device/layout.js';
import { padFilePath } from '../../device/pad-file.js';
import { parsePackage } from '../../device/wire.js';
import { makePair, type Pair, ScriptedConfirmer, text, utf8 } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';

// A 4096-byte pad with the default typical length 160: each region of 2048 bytes gets floor(2048 / 192) = 10 key
// slots. A: keys [0, 320), stream [320, 2048). B: stream [2048, 3776), keys [3776, 4096).
const A_STREAM = 320;
const B_STREAM_END = 3776;
const STREAM = 2048 - 320;

let pair: Pair;
beforeEach(() => {
  pair = makePair(4096);
});
afterEach(() => pair.cleanup());

describe('DeviceEngine round trips', () => {
  it('packages on A and unpackages on B, and back', async () => {
    const a = pair.openA();
    const b = pair.openB();
    const pad = a.pads()[0]!;
    expect(pad).toMatchObject({ wireVersion: 2, keySlotsA: 10, keySlotsB: 10, sendIndex: 0, cursor: A_STREAM });
    expect(b.pads()[0]).toMatchObject({
      wireVersion: 2,
      keySlotsA: 10,
      keySlotsB: 10,
      sendIndex: 0,
      cursor: B_STREAM_END,
    });
    expect(sideAreas(pad, 'A')).toEqual({ keys: { start: 0, end: 320 }, slots: 10, stream: { start: 320, end: 2048 } });
    const p1 = await a.package('bob', utf8('hello bob'));
    expect(p1.cost).toBe(9 + 32);
    expect(p1.package.length).toBe(34 + 9 + 16);
    expect(p1).toMatchObject({ keySlotsLeft: 9, streamLeft: STREAM - 9, remaining: STREAM - 9 + 9 * 32 });
    expect(parsePackage(p1.package)).toMatchObject({ index: 0, streamStart: A_STREAM, length: 9 });
    expect(p1.insecure).toBe(true);
    const r1 = await b.unpackage(p1.package);
    expect(r1.contact).toBe('alice');
    expect(text(r1.plaintext)).toBe('hello bob');
    expect(r1.gaps).toEqual([]);

    const p2 = await b.package('alice', utf8('hi alice'));
    expect(parsePackage(p2.package)).toMatchObject({ side: 'B', index: 0, streamStart: B_STREAM_END - 8 });
    expect(p2.package[1]).toBe(1);
    const r2 = await a.unpackage(p2.package);
    expect(text(r2.plaintext)).toBe('hi alice');
  });

  it('shows the user exactly what is asked and encrypts nothing when denied', async () => {
    const confirmer = new ScriptedConfirmer('denied');
    const a = pair.openA({ confirmer });
    await expect(a.package('bob', utf8('secret'))).rejects.toMatchObject({ code: 'DENIED' });
    expect(confirmer.asked).toHaveLength(1);
    const req = confirmer.asked[0];
    expect(req).toMatchObject({
      kind: 'encrypt',
      contact: 'bob',
      cost: 38,
      remainingAfter: STREAM - 6 + 9 * 32,
      messagesLeftAfter: 9,
      insecure: true,
    });
    expect(a.pads()[0]).toMatchObject({ cursor: A_STREAM, sendIndex: 0 });
    confirmer.answer = 'timeout';
    await expect(a.package('bob', utf8('secret'))).rejects.toMatchObject({ code: 'CONFIRM_TIMEOUT' });
    confirmer.answer = 'busy';
    await expect(a.package('bob', utf8('secret'))).rejects.toMatchObject({ code: 'BUSY' });
    expect(a.pads()[0]).toMatchObject({ cursor: A_STREAM, sendIndex: 0 });
  });

  it('burns the key slot and the stream range of every message, sent and received, in the pad files', async () => {
    const a = pair.openA();
    const b = pair.openB();
    const p = await a.package('bob', utf8('burn me'));
    await b.unpackage(p.package);
    for (const dir of [pair.dirA, pair.dirB]) {
      const bytes = readFileSync(padFilePath(`${dir}/pads`, pair.padId));
      expect(bytes.subarray(0, 32).every((x) => x === 0)).toBe(true);
      expect(bytes.subarray(32, 64).some((x) => x !== 0)).toBe(true);
      expect(bytes.subarray(A_STREAM, A_STREAM + 7).every((x) => x === 0)).toBe(true);
      expect(bytes.subarray(A_STREAM + 7, A_STREAM + 40).some((x) => x !== 0)).toBe(true);
    }
  });

  it('keeps used bytes when burning is off', async () => {
    const a = pair.openA({}, { engine: { burn: false } });
    await a.package('bob', utf8('keep'));
    const bytes = readFileSync(padFilePath(`${pair.dirA}/pads`, pair.padId));
    expect(bytes.subarray(0, 32).some((x) => x !== 0)).toBe(true);
  });

  it('rejects replay, reflection and forgery with their own codes', async () => {
    const a = pair.openA();
    const b = pair.openB();
    const p = await a.package('bob', utf8('once'));
    await expect(a.unpackage(p.package)).rejects.toMatchObject({ code: 'REFLECTION' });
    await b.unpackage(p.package);
    await expect(b.unpackage(p.package)).rejects.toMatchObject({ code: 'REPLAY' });
    const p2 = await a.package('bob', utf8('twice'));
    const forged = p2.package.slice();
    forged[34] = (forged[34] as number) ^ 1;
    await expect(b.unpackage(forged)).rejects.toMatchObject({ code: 'MAC_INVALID' });
    expect((await b.unpackage(p2.package)).plaintext).toEqual(utf8('twice'));
    const kinds = b.events.recent(10).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['REPLAY', 'MAC_FAILURE']));
  });

  it('reports gaps and accepts late arrivals', async () => {
    const a = pair.openA();
    const b = pair.openB();
    const m1 = await a.package('bob', utf8('one'));
    const m2 = await a.package('bob', utf8('two'));
    const m3 = await a.package('bob', utf8('three'));
    const r1 = await b.unpackage(m1.package);
    expect(r1.gaps).toEqual([]);
    const r3 = await b.unpackage(m3.package);
    expect(r3.gaps).toEqual([{ start: A_STREAM + 3, end: A_STREAM + 6 }]);
    const r2 = await b.unpackage(m2.package);
    expect(r2.late).toBe(true);
    expect(r2.gaps).toEqual([]);
    expect(text(r2.plaintext)).toBe('two');
  });

  it('never leaves its stream area: PAD_EXHAUSTED says what is left', async () => {
    const a = pair.openA();
    await expect(a.package('bob', new Uint8Array(STREAM + 1).fill(7))).rejects.toMatchObject({
      code: 'PAD_EXHAUSTED',
      details: { maxMessageLength: STREAM, keySlotsLeft: 10 },
    });
    const p = await a.package('bob', new Uint8Array(STREAM).fill(7));
    expect(p).toMatchObject({ remaining: 0, maxMessageLength: 0, streamLeft: 0, keySlotsLeft: 9 });
    await expect(a.package('bob', utf8('x'))).rejects.toMatchObject({
      code: 'PAD_EXHAUSTED',
      details: { remaining: 0, needed: 33, maxMessageLength: 0 },
    });
    expect(a.pads()[0]).toMatchObject({ state: 'exhausted', cursor: 2048, sendIndex: 1 });
  });

  it('runs out of key slots before stream when messages are short: both limits are shown', async () => {
    const a = pair.openA();
    const b = pair.openB();
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const p = await a.package('bob', utf8(`m${i}`));
      seen.push(p.keySlotsLeft);
      expect(text((await b.unpackage(p.package)).plaintext)).toBe(`m${i}`);
    }
    expect(seen).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(a.pads()[0]).toMatchObject({ state: 'exhausted', sendIndex: 10, streamLeft: STREAM - 20, remaining: 0 });
    await expect(a.package('bob', utf8('x'))).rejects.toMatchObject({
      code: 'PAD_EXHAUSTED',
      details: { keySlotsLeft: 0, maxMessageLength: 0 },
    });
  });

  it('validates its arguments with typed errors', async () => {
    const a = pair.openA();
    await expect(a.package('', utf8('x'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(a.package('bob', new Uint8Array())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(a.package('bob', 'str' as unknown as Uint8Array)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(a.package('carol', utf8('x'))).rejects.toMatchObject({ code: 'UNKNOWN_CONTACT' });
    await expect(a.package('bob', new Uint8Array(65537))).rejects.toMatchObject({ code: 'MESSAGE_TOO_LONG' });
    await expect(a.unpackage(new Uint8Array(10))).rejects.toMatchObject({ code: 'MALFORMED' });
    const v1 = new Uint8Array(60);
    v1[0] = 1;
    await expect(a.unpackage(v1)).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION' });
  });

  it('applies the maximum message length to a package before reading or allocating pad bytes for it', async () => {
    const a = pair.openA({}, { engine: { maxMessageLength: 100 } });
    const b = pair.openB({}, { engine: { maxMessageLength: 50 } });
    const p = await a.package('bob', new Uint8Array(60).fill(3));
    const before = stateHash(pair.dirB);
    await expect(b.unpackage(p.package)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LONG', details: { max: 50 } });
    expect(stateHash(pair.dirB)).toBe(before);
    const ok = await a.package('bob', new Uint8Array(50).fill(4));
    expect((await b.unpackage(ok.package)).length).toBe(50);
  });

  it('keeps the data dir 0700 and pad files, ledger and event log 0600', async () => {
    const a = pair.openA();
    await a.package('bob', utf8('make the WAL files exist'));
    expect(statSync(pair.dirA).mode & 0o777).toBe(0o700);
    expect(statSync(`${pair.dirA}/pads`).mode & 0o777).toBe(0o700);
    expect(statSync(padFilePath(`${pair.dirA}/pads`, pair.padId)).mode & 0o777).toBe(0o600);
    for (const f of ['ledger.db', 'ledger.db-wal', 'events.db', 'events.db-wal']) {
      expect(statSync(`${pair.dirA}/${f}`).mode & 0o777, f).toBe(0o600);
    }
  });

  it('private receive shows the plaintext on the device and returns none', async () => {
    const shown: string[] = [];
    const a = pair.openA();
    const b = pair.openB(
      { privateDisplay: { showReceived: (m) => shown.push(text(m.plaintext)) } },
      { confirm: { privateReceive: true } },
    );
    const p = await a.package('bob', utf8('eyes only'));
    const r = await b.unpackage(p.package);
    expect(r.plaintext).toBeNull();
    expect(r.length).toBe(9);
    expect(shown).toEqual(['eyes only']);
  });
});
