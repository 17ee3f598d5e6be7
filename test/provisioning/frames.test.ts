import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OnepadError } from '../../device/errors.js';
import { encodeFrame, FRAME, FrameReader, type FrameType } from '../../provisioning/frames.js';

const TYPES = Object.values(FRAME) as FrameType[];

/** Cut `stream` at the given points (sorted, deduplicated, inside the stream). */
function cut(stream: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...at, stream.length]) {
    out.push(stream.slice(prev, p)); // a copy: push may zero what it consumed
    prev = p;
  }
  return out;
}

describe('FrameReader', () => {
  it('parses any split of any frame sequence into the same frames, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.constantFrom(...TYPES), payload: fc.uint8Array({ maxLength: 9000 }) }), {
          maxLength: 6,
        }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, points) => {
          const stream = new Uint8Array(frames.reduce((n, f) => n + 5 + f.payload.length, 0));
          let off = 0;
          for (const f of frames) {
            const e = encodeFrame(f.type, f.payload);
            stream.set(e, off);
            off += e.length;
          }
          const reader = new FrameReader(9000);
          const got = cut(stream, points).flatMap((piece) => reader.push(piece));
          expect(got.map((f) => f.type)).toEqual(frames.map((f) => f.type));
          got.forEach((f, i) => {
            expect(Array.from(f.payload)).toEqual(Array.from(frames[i]?.payload ?? []));
            // Byte 4 of a payload (a chunk frame's first chunk byte) is 8-byte aligned.
            expect((f.payload.byteOffset + 4) % 8).toBe(0);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps no reference to the bytes pushed: changing them afterwards changes no frame', () => {
    const payload = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const stream = encodeFrame(FRAME.REVEAL, payload);
    const reader = new FrameReader(8192);
    const a = stream.slice(0, 1234);
    const b = stream.slice(1234);
    expect(reader.push(a)).toEqual([]);
    a.fill(0xee); // the socket's buffer reused or overwritten before the frame completes
    const [f] = reader.push(b);
    expect(Array.from(f?.payload ?? [])).toEqual(Array.from(payload));
    // The chunk bytes consumed from the input are zeroed there (the header's 5 bytes stay).
    expect(b.every((v) => v === 0)).toBe(true);
  });

  it('rejects an unknown type and a declared length over the limit as soon as the header is complete', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof OnepadError ? e.code : String(e);
      }
      return 'none';
    };
    expect(code(() => new FrameReader(100).push(Uint8Array.of(0xff, 0, 0, 0, 1)))).toBe('PAIRING_PROTOCOL');
    // 4 GiB - 1 declared: refused from the header alone, before any payload is buffered.
    expect(code(() => new FrameReader(100).push(Uint8Array.of(FRAME.REVEAL, 0xff, 0xff, 0xff, 0xff)))).toBe(
      'PAIRING_PROTOCOL',
    );
    expect(code(() => new FrameReader(100).push(Uint8Array.of(FRAME.REVEAL, 0, 0, 0, 101)))).toBe('PAIRING_PROTOCOL');
    expect(code(() => new FrameReader(100).push(Uint8Array.of(FRAME.REVEAL, 0, 0, 0, 100)))).toBe('none');
  });

  it('reuses a recycled payload buffer for the next frame of its length, zeroed', () => {
    const reader = new FrameReader(10_000);
    const [f1] = reader.push(encodeFrame(FRAME.REVEAL, new Uint8Array(5000).fill(7)));
    const buf = f1?.payload as Uint8Array;
    reader.recycle(buf);
    expect(buf.every((v) => v === 0)).toBe(true);
    const [f2] = reader.push(encodeFrame(FRAME.REVEAL, new Uint8Array(5000).fill(9)));
    expect(f2?.payload).toBe(buf);
    expect(buf.every((v) => v === 9)).toBe(true);
  });
});
