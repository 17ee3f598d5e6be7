/**
 * The pad fingerprint both users compare on their screens: a hash of the pairing transcript (pad id, size, both
 * names, and every chunk commitment of both sides), shown as 5 groups of 4 digits (about 66 bits). It is computed
 * from what crossed the cable, so it never exposes a pad byte; it matches on both devices exactly when both saw
 * the same exchange, and every revealed chunk was checked against its commitment.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

/** Incremental transcript hash. */
export class Transcript {
  private readonly h = sha256.create();

  constructor(padId: Uint8Array, size: number, nameA: string, nameB: string) {
    const sizeBytes = new Uint8Array(8);
    new DataView(sizeBytes.buffer).setBigUint64(0, BigInt(size), false);
    this.h.update(utf8ToBytes('onepad fingerprint v1'));
    this.h.update(padId);
    this.h.update(sizeBytes);
    for (const n of [nameA, nameB]) {
      const b = utf8ToBytes(n);
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

  /** The fingerprint: "1234 5678 9012 3456 7890". */
  fingerprint(): string {
    const d = this.h.digest();
    let n = 0n;
    for (const b of d.subarray(0, 9)) n = (n << 8n) | BigInt(b);
    const digits = (n % 10n ** 20n).toString().padStart(20, '0');
    return digits.match(/.{4}/g)!.join(' ');
  }
}

/** The commitment to one side's chunk. */
export function commitment(padId: Uint8Array, index: number, side: 'A' | 'B', chunk: Uint8Array): Uint8Array {
  const head = new Uint8Array(5);
  new DataView(head.buffer).setUint32(0, index, false);
  head[4] = side === 'A' ? 0x41 : 0x42;
  return sha256.create().update(utf8ToBytes('onepad commit v1')).update(padId).update(head).update(chunk).digest();
}
