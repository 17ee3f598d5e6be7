/**
 * A tiny, slow, obviously-correct reference of the package format, written from the specification with BigInt,
 * used only by tests to check the production encoder (which uses @noble/ciphers' Poly1305). Its Poly1305 is
 * checked against RFC 8439 before it is trusted (test/engine/wire.test.ts).
 */
const P = (1n << 130n) - 5n;

function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] as number);
  return n;
}

/** Poly1305 from RFC 8439 section 2.5.1, literally. */
export function referencePoly1305(msg: Uint8Array, key: Uint8Array): Uint8Array {
  const r = leToBig(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = leToBig(key.subarray(16, 32));
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = msg.subarray(i, i + 16);
    const n = leToBig(block) + (1n << BigInt(8 * block.length));
    acc = ((acc + n) * r) % P;
  }
  let t = (acc + s) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}

/** A pad layout as docs/PROTOCOL.md defines it: the region split and each side's key slots. */
export interface ReferenceLayout {
  readonly size: number;
  readonly split: number;
  readonly keySlotsA: number;
  readonly keySlotsB: number;
}

/** Pad offset of key slot `index` of `side`, from docs/PROTOCOL.md: A's keys at [0, 32kA), B's at [n - 32kB, n). */
export function referenceKeySlot(layout: ReferenceLayout, side: 'A' | 'B', index: number): number {
  return side === 'A' ? 32 * index : layout.size - 32 * layout.keySlotsB + 32 * index;
}

function putBig(out: Uint8Array, at: number, width: number, value: number): void {
  let v = BigInt(value);
  for (let i = at + width - 1; i >= at; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** The v2 package format from docs/PROTOCOL.md, byte by byte. */
export function referencePackage(
  layout: ReferenceLayout,
  side: 'A' | 'B',
  padId: Uint8Array,
  index: number,
  streamStart: number,
  plaintext: Uint8Array,
  pad: Uint8Array,
): Uint8Array {
  const L = plaintext.length;
  const out = new Uint8Array(34 + L + 16);
  out[0] = 2;
  out[1] = side === 'B' ? 1 : 0;
  out.set(padId, 2);
  putBig(out, 18, 4, index);
  putBig(out, 22, 8, streamStart);
  putBig(out, 30, 4, L);
  for (let i = 0; i < L; i++) out[34 + i] = (plaintext[i] as number) ^ (pad[streamStart + i] as number);
  const k = referenceKeySlot(layout, side, index);
  out.set(referencePoly1305(out.subarray(0, 34 + L), pad.subarray(k, k + 32)), 34 + L);
  return out;
}
