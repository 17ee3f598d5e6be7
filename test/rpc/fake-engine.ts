/**
 * A scripted engine for server tests: records every call, answers from a script, and can hold a call until
 * the test releases it (a user still looking at the screen).
 */
import type { PackageResult, UnpackageResult } from '../../device/engine-types.js';
import { OnepadError } from '../../device/errors.js';
import type { RpcEngine } from '../../rpc/server.js';

export interface Call {
  readonly kind: 'package' | 'unpackage';
  readonly contact?: string;
  readonly bytes: Uint8Array;
  readonly signal: AbortSignal | undefined;
}

export function packageResult(pkg: Uint8Array, contact = 'bob'): PackageResult {
  return {
    package: pkg,
    contact,
    padId: '00112233445566778899aabbccddeeff',
    cost: pkg.length,
    insecure: true,
    remaining: 1000,
    maxMessageLength: 968,
    messagesLeft: 5,
    keySlotsLeft: 1,
    streamLeft: 968,
  };
}

export function unpackageResult(plaintext: Uint8Array | null, extra: Partial<UnpackageResult> = {}): UnpackageResult {
  return {
    contact: 'alice',
    padId: '00112233445566778899aabbccddeeff',
    plaintext,
    length: plaintext?.length ?? 7,
    gaps: [],
    late: false,
    insecure: true,
    remaining: 1000,
    maxMessageLength: 968,
    messagesLeft: 5,
    keySlotsLeft: 1,
    streamLeft: 968,
    ...extra,
  };
}

export class FakeEngine implements RpcEngine {
  readonly calls: Call[] = [];
  /** How many calls are inside the engine right now, and the most ever at once. */
  active = 0;
  maxActive = 0;
  /** Throw this on the next calls (an engine error). */
  fail: Error | null = null;
  /** When set, each call waits for release() (or its signal, which then answers CONFIRM_TIMEOUT). */
  hold = false;
  unpackageAnswer: (bytes: Uint8Array) => UnpackageResult = (b) => unpackageResult(b);
  private releases: (() => void)[] = [];

  release(n = 1): void {
    for (const r of this.releases.splice(0, n)) r();
  }

  get holding(): number {
    return this.releases.length;
  }

  private async step<T>(call: Call, answer: () => T): Promise<T> {
    this.calls.push({ ...call, bytes: call.bytes.slice() });
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.hold) {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(new OnepadError('CONFIRM_TIMEOUT'));
          if (call.signal?.aborted) return onAbort();
          call.signal?.addEventListener('abort', onAbort, { once: true });
          this.releases.push(() => {
            call.signal?.removeEventListener('abort', onAbort);
            resolve();
          });
        });
      }
      if (this.fail) throw this.fail;
      return answer();
    } finally {
      this.active--;
    }
  }

  package(contact: string, plaintext: Uint8Array, signal?: AbortSignal): Promise<PackageResult> {
    // The "package" is the plaintext reversed: the test can check the bytes went through untouched.
    return this.step({ kind: 'package', contact, bytes: plaintext, signal }, () =>
      packageResult(plaintext.slice().reverse(), contact),
    );
  }

  unpackage(bytes: Uint8Array, signal?: AbortSignal): Promise<UnpackageResult> {
    return this.step({ kind: 'unpackage', bytes, signal }, () => this.unpackageAnswer(bytes));
  }
}
