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

/** The package format from docs/PROTOCOL.md, byte by byte. */
export function referencePackage(
  side: 'A' | 'B',
  padId: Uint8Array,
  start: number,
  plaintext: Uint8Array,
  pad: Uint8Array,
): Uint8Array {
  const L = plaintext.length;
  const out = new Uint8Array(30 + L + 16);
  out[0] = 1;
  out[1] = side === 'B' ? 1 : 0;
  out.set(padId, 2);
  let s = BigInt(start);
  for (let i = 25; i >= 18; i--) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  out[26] = (L >>> 24) & 0xff;
  out[27] = (L >>> 16) & 0xff;
  out[28] = (L >>> 8) & 0xff;
  out[29] = L & 0xff;
  for (let i = 0; i < L; i++) out[30 + i] = (plaintext[i] as number) ^ (pad[start + 32 + i] as number);
  out.set(referencePoly1305(out.subarray(0, 30 + L), pad.subarray(start, start + 32)), 30 + L);
  return out;
}
