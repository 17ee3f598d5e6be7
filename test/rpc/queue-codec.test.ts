/**
 * Property tests: the request queue against a tiny model, and the base64/UTF-8 codec.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, decodeTextOrNull, encodeBase64, encodeText } from '../../rpc/codec.js';
import { SerialQueue } from '../../rpc/queue.js';

type Op = { kind: 'arrive' } | { kind: 'finish' } | { kind: 'leave'; pick: number };

describe('SerialQueue against a model', () => {
  it('one task at a time, FIFO, BUSY exactly when the wait list is full, departures free their place', async () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant({ kind: 'arrive' as const }),
      fc.constant({ kind: 'finish' as const }),
      fc.nat({ max: 20 }).map((pick) => ({ kind: 'leave' as const, pick })),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 4 }), fc.array(op, { maxLength: 60 }), async (maxWaiting, ops) => {
        const q = new SerialQueue(maxWaiting);
        const started: number[] = [];
        const finishers = new Map<number, () => void>();
        const clients = new Map<number, AbortController>();
        // Model: who runs, who waits (in order).
        let running: number | null = null;
        let waiting: number[] = [];
        let next = 0;
        let active = 0;
        const settle = () => new Promise((r) => setTimeout(r, 0));
        for (const o of ops) {
          if (o.kind === 'arrive') {
            const id = next++;
            const ac = new AbortController();
            clients.set(id, ac);
            const busyExpected = running !== null && waiting.length >= maxWaiting;
            const p = q.run(
              () =>
                new Promise<void>((resolve) => {
                  active++;
                  expect(active).toBe(1);
                  started.push(id);
                  finishers.set(id, () => {
                    active--;
                    resolve();
                  });
                }),
              ac.signal,
            );
            const outcome = p.then(
              () => 'ok',
              (e: { code?: string }) => e.code ?? 'other',
            );
            if (busyExpected) expect(await outcome).toBe('BUSY');
            else if (running === null) running = id;
            else waiting.push(id);
          } else if (o.kind === 'finish' && running !== null) {
            finishers.get(running)?.();
            running = waiting.shift() ?? null;
          } else if (o.kind === 'leave' && waiting.length > 0) {
            const id = waiting[o.pick % waiting.length] as number;
            clients.get(id)?.abort();
            waiting = waiting.filter((w) => w !== id);
          }
          await settle();
          expect(q.busy).toBe(running !== null);
          expect(q.waitingCount).toBe(waiting.length);
          if (running !== null) expect(started.at(-1)).toBe(running);
        }
        // Shut down: the waiting are refused, the running one sees its signal aborted.
        const done = q.shutdown();
        if (running !== null) finishers.get(running)?.();
        await done;
        expect(q.waitingCount).toBe(0);
        await expect(q.run(async () => 1)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
      }),
      { numRuns: 150 },
    );
  });
});

describe('codec', () => {
  it('base64 round-trips any bytes, and only the canonical encoding is accepted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b64 = encodeBase64(bytes);
        expect([...decodeBase64(b64, 'f')]).toEqual([...bytes]);
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AB+/=a9-_ \n'.split('')), maxLength: 16 }), (s) => {
        let decoded: Uint8Array | null = null;
        try {
          decoded = decodeBase64(s, 'f');
        } catch (e) {
          expect(e).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'f' } });
        }
        if (decoded) expect(encodeBase64(decoded)).toBe(s);
      }),
    );
  });

  it('well-formed text round-trips through UTF-8; lone surrogates are refused; invalid UTF-8 decodes to null', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
        expect(decodeTextOrNull(encodeText(s, 'text'))).toBe(s);
      }),
    );
    expect(() => encodeText('a\ud800', 'text')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(decodeTextOrNull(Uint8Array.from([0xc3]))).toBeNull();
    expect(decodeTextOrNull(Uint8Array.from([0xef, 0xbb, 0xbf, 0x41]))).toBe('\ufeffA');
  });
});
