/**
 * The chunk exchange of a pairing (docs/PAIRING.md, "Chunks"): commit-before-reveal for every chunk, with a
 * window of chunks in flight instead of lock-step.
 *
 * Each side keeps up to `window` chunks drawn and committed ahead. The one rule that protects a side: it sends
 * REVEAL(i) only after it has received the peer's COMMIT(i), so the peer's bytes for chunk i were fixed before it
 * saw ours. It accepts the peer's REVEAL(i) only after the peer's COMMIT(i) and its own COMMIT(i), in order, and
 * at most {@link MAX_WINDOW} commitments ahead of the reveals. A chunk's bytes go from the pool read to the socket
 * (header and bytes written as two parts, never copied into a frame); the peer's bytes are assembled once from
 * the socket, checked, XORed in place with ours, and written from there to the pad file.
 */
import { equalBytes } from '@noble/ciphers/utils.js';
import { OnepadError } from '../device/errors.js';
import { containsAlignedZeroBlock, type PadFileWriter } from '../device/pad-file.js';
import type { Side } from '../device/wire.js';
import type { FrameConnection } from './connection.js';
import { CommitmentHash, type Transcript } from './fingerprint.js';
import { chunkFrameHeader, encodeFrame, FRAME } from './frames.js';

/** The most commitments a side may send ahead of the chunks completed (and the largest `pairing.window`). */
export const MAX_WINDOW = 64;

/**
 * Bytes drawn from the pool at once (whole chunks; at least one). Each draw is one ledger commit, and burning
 * lags one or two draws behind, so this bounds both the commits per gigabyte (32) and the unburned lag (64 MiB,
 * which the pool's open burns after a crash). Memory: two or three such buffers while chunks are in flight.
 */
export const DRAW_BATCH_BYTES = 32 << 20;

/** Where this device's contribution comes from: the entropy pool (hrng/pool.ts) or a test double. */
export interface PadSource {
  available(): number;
  /** Draw `n` bytes; they are consumed (and burned in the pool) before they are returned. */
  take(n: number): { readonly bytes: Uint8Array; readonly insecure: boolean };
  /**
   * Draw `n` bytes, consumed (never handed out again) but burned later, by {@link burnConsumedAsync}. Optional:
   * sources without it are drawn with {@link take}.
   */
  takeUnburned?(n: number, into?: Uint8Array): { readonly bytes: Uint8Array; readonly insecure: boolean };
  /** Burn every byte drawn by {@link takeUnburned} so far. */
  burnConsumedAsync?(): Promise<number>;
}

export interface TransferDeps {
  readonly conn: FrameConnection;
  readonly source: PadSource;
  readonly writer: PadFileWriter;
  readonly transcript: Transcript;
  readonly padId: Uint8Array;
  readonly size: number;
  readonly chunk: number;
  readonly side: Side;
  /** Chunks this side draws and commits ahead (1 = lock-step). */
  readonly window: number;
  readonly ioTimeoutMs: number;
  readonly signal?: AbortSignal;
  /** Called after each chunk is complete, with the pad bytes done. */
  readonly onChunk?: (bytesDone: number) => void;
}

interface OwnChunk {
  readonly bytes: Uint8Array;
  readonly commit: Uint8Array;
  /** The socket no longer holds the bytes (REVEAL written), or they were never sent. */
  sent: boolean;
  /** The peer's chunk was combined with them. */
  used: boolean;
  /** The batch buffer they lie in, when reused. */
  readonly from: Buffered | null;
}

interface Buffered {
  readonly bytes: Uint8Array;
  /** Chunks drawn into it and not yet released. */
  outstanding: number;
}

function protocolError(reason: string): OnepadError {
  return new OnepadError('PAIRING_PROTOCOL', { reason }, reason);
}

function indexOf(payload: Uint8Array): number {
  if (payload.length < 4) throw protocolError('chunk frame without an index');
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, false);
}

/** `a[i] ^= b[i]` for every i: 64 bits at a time where both are 8-byte aligned, else 32, else bytes. */
export function xorInto(a: Uint8Array, b: Uint8Array): void {
  const n = Math.min(a.length, b.length);
  let i = 0;
  if (a.byteOffset % 8 === 0 && b.byteOffset % 8 === 0) {
    const words = n >>> 3;
    const wa = new BigUint64Array(a.buffer, a.byteOffset, words);
    const wb = new BigUint64Array(b.buffer, b.byteOffset, words);
    for (let w = 0; w < words; w++) wa[w] = (wa[w] as bigint) ^ (wb[w] as bigint);
    i = words * 8;
  } else if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = n >>> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, words);
    const wb = new Uint32Array(b.buffer, b.byteOffset, words);
    for (let w = 0; w < words; w++) wa[w] = (wa[w] as number) ^ (wb[w] as number);
    i = words * 4;
  }
  for (; i < n; i++) a[i] = (a[i] as number) ^ (b[i] as number);
}

/**
 * Exchange every chunk of the pad with the peer and write the pad file (not finished: the caller finishes it).
 *
 * @returns whether any of this side's bytes came from an insecure source
 * @throws OnepadError COMMITMENT_MISMATCH, PAIRING_PAD_DEGENERATE, PAIRING_PROTOCOL, PAIRING_PEER_LOST,
 *   PAIRING_PEER_ABORTED, PAIRING_TIMEOUT, CANCELLED (the signal), POOL_INSUFFICIENT, STORAGE_FAILED
 */
export async function exchangeChunks(d: TransferDeps): Promise<{ insecure: boolean }> {
  const { conn, size, chunk, side } = d;
  const peerSide: Side = side === 'A' ? 'B' : 'A';
  const count = Math.ceil(size / chunk);
  const window = Math.max(1, Math.min(MAX_WINDOW, d.window));
  const lengthOf = (i: number) => Math.min(chunk, size - i * chunk);

  const own = new Map<number, OwnChunk>();
  const peerCommits = new Map<number, Uint8Array>();
  const writes = new Set<Promise<void>>();
  const sends = new Set<Promise<void>>(); // our REVEALs the socket still holds
  const inFlight = new Set<Uint8Array>(); // the peer's chunks, XORed, being written
  let insecure = false;
  let nextOwn = 0; // next chunk to draw and commit
  let nextReveal = 0; // next chunk of ours to reveal
  let nextPeerCommit = 0;
  let done = 0; // chunks complete
  // Draws in batches of whole chunks, up to DRAW_BATCH_BYTES (one ledger commit, a synchronous fsync that stops
  // the event loop, per batch), burned behind the transfer.
  const unburned = typeof d.source.takeUnburned === 'function' && typeof d.source.burnConsumedAsync === 'function';
  const batchChunks = unburned ? Math.max(1, Math.floor(DRAW_BATCH_BYTES / chunk)) : 1;
  let batch: { bytes: Uint8Array; first: number } | null = null;
  let burn: Promise<unknown> = Promise.resolve();
  let batchesSinceBurn = 0;

  const release = (i: number, o: OwnChunk) => {
    if (o.sent && o.used && own.get(i) === o) {
      o.bytes.fill(0);
      own.delete(i);
      if (o.from) o.from.outstanding--;
    }
  };

  // Batch buffers are reused once every chunk drawn into one is released (combined, and written by the socket).
  const buffers: Buffered[] = [];
  let current: Buffered | null = null;
  const draw = (i: number): { bytes: Uint8Array; from: Buffered | null } => {
    if (!batch || i >= batch.first + batchChunks) {
      const first = i;
      const bytes = Math.min(batchChunks * chunk, size - first * chunk);
      let r: ReturnType<PadSource['take']>;
      if (unburned) {
        current = buffers.find((b) => b.outstanding === 0) ?? null;
        if (!current) {
          current = { bytes: new Uint8Array(Math.min(batchChunks * chunk, size)), outstanding: 0 };
          buffers.push(current);
        }
        r = (d.source.takeUnburned as NonNullable<PadSource['takeUnburned']>)(bytes, current.bytes);
      } else {
        current = null;
        r = d.source.take(bytes);
      }
      insecure ||= r.insecure;
      batch = { bytes: r.bytes, first };
      if (unburned && ++batchesSinceBurn >= 2) {
        // Burn what earlier batches drew, on the thread pool; at most one burn at a time, lagging a batch or two.
        batchesSinceBurn = 0;
        burn = burn.then(() => (d.source.burnConsumedAsync as () => Promise<number>)());
        burn.catch(() => {}); // awaited at the end; a failure surfaces there
      }
    }
    const off = (i - batch.first) * chunk;
    if (current) current.outstanding++;
    return { bytes: batch.bytes.subarray(off, off + lengthOf(i)), from: current };
  };

  const reveal = async (i: number) => {
    const o = own.get(i) as OwnChunk;
    nextReveal = i + 1;
    let onSent = () => {};
    const sent = new Promise<void>((resolve) => {
      onSent = resolve;
    });
    sends.add(sent);
    await conn.sendChunk(chunkFrameHeader(FRAME.REVEAL, i, o.bytes.length), o.bytes, () => {
      o.sent = true;
      release(i, o);
      sends.delete(sent);
      onSent();
    });
  };

  const commitNext = async () => {
    const i = nextOwn++;
    const { bytes, from } = draw(i);
    const commit = new CommitmentHash(d.padId, i, side).update(bytes).digest();
    own.set(i, { bytes, commit, sent: false, used: false, from });
    const payload = new Uint8Array(4 + 32);
    new DataView(payload.buffer).setUint32(0, i, false);
    payload.set(commit, 4);
    await conn.send(encodeFrame(FRAME.COMMIT, payload));
    // The peer's commitment to this chunk came first: ours is now sent too, so both are fixed.
    if (peerCommits.has(i)) await reveal(i);
  };

  try {
    while (nextOwn < Math.min(window, count)) await commitNext();
    while (done < count) {
      if (d.signal?.aborted) throw new OnepadError('CANCELLED', { job: 'pairing' });
      const f = await conn.receive(d.ioTimeoutMs, d.signal);
      if (f.type === FRAME.COMMIT) {
        const i = indexOf(f.payload);
        if (f.payload.length !== 36) throw protocolError('commitment has the wrong size');
        if (i !== nextPeerCommit || i >= count) throw protocolError('commitment out of order');
        if (i - done >= MAX_WINDOW) throw protocolError('too many commitments ahead');
        peerCommits.set(i, f.payload.slice(4));
        nextPeerCommit++;
        // Reveal ours only now that the peer's is fixed, and only once ours is sent (commitNext reveals otherwise).
        if (own.has(i) && nextReveal === i) await reveal(i);
      } else if (f.type === FRAME.REVEAL) {
        const i = indexOf(f.payload);
        if (i !== done) throw protocolError('reveal out of order');
        const theirCommit = peerCommits.get(i);
        if (!theirCommit) throw protocolError('reveal before its commitment');
        if (i >= nextOwn) throw protocolError('reveal before our commitment');
        const theirs = f.payload.subarray(4);
        if (theirs.length !== lengthOf(i)) {
          f.payload.fill(0);
          throw protocolError('reveal has the wrong size');
        }
        const check = new CommitmentHash(d.padId, i, peerSide).update(theirs).digest();
        if (!equalBytes(check, theirCommit)) {
          f.payload.fill(0);
          throw new OnepadError('COMMITMENT_MISMATCH', { chunk: i });
        }
        const o = own.get(i) as OwnChunk;
        xorInto(theirs, o.bytes); // now pad bytes
        if (containsAlignedZeroBlock(theirs)) {
          // The two contributions cancel out (both devices drew equal bytes: equal seeds, one stream copied to
          // both): the pad would hold zeros, which the engine refuses as burned. Stop here rather than make it.
          f.payload.fill(0);
          throw new OnepadError('PAIRING_PAD_DEGENERATE', { chunk: i });
        }
        o.used = true;
        release(i, o);
        if (side === 'A') d.transcript.addChunk(o.commit, theirCommit);
        else d.transcript.addChunk(theirCommit, o.commit);
        peerCommits.delete(i);
        inFlight.add(f.payload);
        const w = d.writer.writeAsync(theirs, i * chunk).finally(() => {
          inFlight.delete(f.payload);
          conn.recycle(f.payload); // zeroed there
          writes.delete(w);
        });
        writes.add(w);
        w.catch(() => {}); // awaited below; a failure surfaces there
        if (writes.size > window) await Promise.race(writes);
        done++;
        d.onChunk?.(Math.min(size, done * chunk));
        if (nextOwn < count) await commitNext();
      } else {
        throw protocolError('unexpected frame during the transfer');
      }
    }
    await Promise.all(writes);
    // Our last REVEALs may still be in the socket: their bytes are zeroed only once it has written them.
    await Promise.all(sends);
    await burn;
    if (unburned) await (d.source.burnConsumedAsync as () => Promise<number>)();
    return { insecure };
  } finally {
    // Let the file writes and the pool burn settle before anyone closes the file or the pool.
    await Promise.allSettled([...writes, burn]);
    // Stopped early (cancel, a lost or lying peer): burn what was drawn now rather than at the pool's next open;
    // our revealed chunks' bytes are pad bytes to whoever saw the peer's. Best effort: a closed pool refuses, and
    // its open burns them.
    if (unburned) {
      try {
        await (d.source.burnConsumedAsync as () => Promise<number>)();
      } catch {
        // the pool's next open burns the lag
      }
    }
    for (const p of inFlight) p.fill(0);
    for (const o of own.values()) o.bytes.fill(0);
    own.clear();
    (batch as { bytes: Uint8Array } | null)?.bytes.fill(0);
    for (const b of buffers) b.bytes.fill(0);
  }
}
