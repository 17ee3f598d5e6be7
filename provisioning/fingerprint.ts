/**
 * The pad fingerprint both users compare on their screens: a hash of the pairing transcript (pad id, size, both
 * names, and every chunk commitment of both sides), shown as 5 groups of 4 digits (about 66 bits). It is computed
 * from what crossed the cable, so it never exposes a pad byte; it matches on both devices exactly when both saw
 * the same exchange, and every revealed chunk was checked against its commitment.
 *
 * SHA-256 is OpenSSL's (node:crypto), which uses the CPU's SHA instructions where it has them: the commitments
 * hash every pad byte twice on each side, so this is the pairing's largest CPU cost. The bytes hashed are the same
 * as with any other SHA-256 (test/provisioning/commitment.test.ts checks them against @noble/hashes).
 */
import { createHash, type Hash } from 'node:crypto';

const COMMIT_TAG = new TextEncoder().encode('onepad commit v1');
const FINGERPRINT_TAG = new TextEncoder().encode('onepad fingerprint v1');

/** Incremental transcript hash. */
export class Transcript {
  private readonly h = createHash('sha256');

  constructor(padId: Uint8Array, size: number, nameA: string, nameB: string) {
    const sizeBytes = new Uint8Array(8);
    new DataView(sizeBytes.buffer).setBigUint64(0, BigInt(size), false);
    this.h.update(FINGERPRINT_TAG);
    this.h.update(padId);
    this.h.update(sizeBytes);
    for (const n of [nameA, nameB]) {
      const b = new TextEncoder().encode(n);
      this.h.update(new Uint8Array([b.length]));
      this.h.update(b);
    }
  }

  /**
   * Add the pad's v2 layout (key slots of A and of B, u32 big-endian each), right after the constructor: two
   * devices that installed different layouts (a tampered PROPOSE) then show different fingerprints.
   */
  addLayout(keySlotsA: number, keySlotsB: number): void {
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    v.setUint32(0, keySlotsA, false);
    v.setUint32(4, keySlotsB, false);
    this.h.update(b);
  }

  /** Add one chunk's two commitments, A's first. */
  addChunk(commitA: Uint8Array, commitB: Uint8Array): void {
    this.h.update(commitA);
    this.h.update(commitB);
  }

  private result: string | null = null;

  /** The fingerprint: "1234 5678 9012 3456 7890" (no chunk may be added after). */
  fingerprint(): string {
    if (this.result !== null) return this.result;
    const d = this.h.digest();
    let n = 0n;
    for (const b of d.subarray(0, 9)) n = (n << 8n) | BigInt(b);
    const digits = (n % 10n ** 20n).toString().padStart(20, '0');
    this.result = digits.match(/.{4}/g)!.join(' ');
    return this.result;
  }
}

/**
 * A commitment being computed over a chunk that arrives in pieces (`update` each piece in order, then `digest`).
 */
export class CommitmentHash {
  private readonly h: Hash;

  constructor(padId: Uint8Array, index: number, side: 'A' | 'B') {
    const head = new Uint8Array(5);
    new DataView(head.buffer).setUint32(0, index, false);
    head[4] = side === 'A' ? 0x41 : 0x42;
    this.h = createHash('sha256').update(COMMIT_TAG).update(padId).update(head);
  }

  update(piece: Uint8Array): this {
    this.h.update(piece);
    return this;
  }

  digest(): Uint8Array {
    const d = this.h.digest();
    return new Uint8Array(d.buffer, d.byteOffset, d.length);
  }
}

/** The commitment to one side's chunk: SHA-256("onepad commit v1" ‖ padId ‖ index (u32 BE) ‖ side ‖ chunk). */
export function commitment(padId: Uint8Array, index: number, side: 'A' | 'B', chunk: Uint8Array): Uint8Array {
  return new CommitmentHash(padId, index, side).update(chunk).digest();
}
