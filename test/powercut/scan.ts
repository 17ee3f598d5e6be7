/**
 * Scan a raw disk image for bytes that must be gone from the medium (burned pad segments, pads whose install did
 * not complete). File data sits in file-system blocks, so a byte at a 32-aligned file offset sits at a 32-aligned
 * disk offset: the scan compares the 32-byte chunks of the needles with every 32-aligned chunk of the image.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** A named set of bytes that must not be on the medium, at 32-aligned offsets of their own file. */
export interface Needle {
  readonly what: string;
  readonly bytes: Uint8Array;
}

const CHUNK = 32;

/**
 * @returns one line per needle found on the image (what, and the disk offset of the first chunk found)
 */
export function scanImage(image: string, needles: readonly Needle[]): { chunks: number; hits: string[] } {
  const index = new Map<number, { n: number; off: number }[]>();
  let chunks = 0;
  needles.forEach((nd, n) => {
    const v = new DataView(nd.bytes.buffer, nd.bytes.byteOffset, nd.bytes.byteLength);
    for (let off = 0; off + CHUNK <= nd.bytes.length; off += CHUNK) {
      const k = v.getUint32(off, true);
      if (k === 0) continue;
      chunks++;
      const list = index.get(k);
      if (list) list.push({ n, off });
      else index.set(k, [{ n, off }]);
    }
  });
  const found = new Map<number, number>();
  if (chunks === 0) return { chunks, hits: [] };
  const fd = openSync(image, 'r');
  const buf = Buffer.alloc(4 << 20);
  let pos = 0;
  try {
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, pos);
      if (got <= 0) break;
      for (let i = 0; i + CHUNK <= got; i += CHUNK) {
        const k = buf.readUInt32LE(i);
        if (k === 0) continue;
        const list = index.get(k);
        if (!list) continue;
        for (const c of list) {
          if (found.has(c.n)) continue;
          const nb = (needles[c.n] as Needle).bytes;
          if (buf.compare(nb, c.off, c.off + CHUNK, i, i + CHUNK) === 0) found.set(c.n, pos + i);
        }
      }
      pos += got;
    }
  } finally {
    closeSync(fd);
  }
  return {
    chunks,
    hits: [...found].map(([n, at]) => `${(needles[n] as Needle).what} found at disk offset ${at}`),
  };
}
