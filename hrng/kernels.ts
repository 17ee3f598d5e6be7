/**
 * The WebAssembly inner loops of the HRNG pipeline (hrng/wasm/kernels.as, 128-bit SIMD), and the linear memory
 * they work on. The module is compiled once per process from the bytes committed in
 * hrng/wasm/kernels.generated.ts (rebuilt and compared by test/hrng/kernels-build.test.ts); each user (one
 * health gate, one extractor) gets its own instance and memory, laid out by {@link KernelMemory.alloc}.
 *
 * No kernel keeps state of its own: every counter lives in the memory regions the JavaScript classes hand it,
 * and each kernel mirrors a JavaScript reference that its class keeps (test/hrng/kernels.test.ts compares them).
 */
import { OnepadError } from '../device/errors.js';
import { KERNELS_WASM_BASE64 } from './wasm/kernels.generated.js';

/** The part of the global WebAssembly API used here (the project's lib settings do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
/** The runtime's WebAssembly. */
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The kernels' exports (pointers and lengths are byte offsets into the instance's memory). */
export interface KernelExports {
  readonly memory: WasmMemory;
  toeplitz7(table: number, rowBytes: number, input: number, nB: number, out: number, nBlocks: number): void;
  toeplitz8(
    table: number,
    rowBytes: number,
    input: number,
    nB: number,
    out: number,
    outBytes: number,
    nBlocks: number,
  ): void;
  rct(st: number, p: number, len: number): number;
  apt(st: number, p: number, len: number): number;
  periodic(st: number, table: number, p: number, len: number): number;
  repeat(st: number, gens: number, partial: number, prints: number, p: number, len: number): number;
  mcvScan(hist: number, p: number, len: number): void;
  mcvStep(hist: number, slot: number, counts: number): void;
  mcvMax(counts: number): number;
  collisionScan(table: number, state: number, p: number, len: number, ret: number): number;
  fipsBlock(step: number, inner: number, work: number, p: number): number;
}

let compiled: object | null = null;

/**
 * Compile the kernels with `api` (the runtime's WebAssembly by default; tests hand in one that refuses).
 * The kernels use 128-bit SIMD, which V8 has only on CPUs with SSE4.1 (x86-64) or NEON (ARM): on plain qemu64,
 * for one, validation fails. There is no fallback: the device runs the one pipeline its tests check.
 *
 * @throws OnepadError HRNG_WASM_UNAVAILABLE (details: reason `no-webassembly`, `invalid` or `compile`)
 */
export function compileKernels(api: WasmApi | null = wasmApi ?? null): object {
  if (!api || typeof api.validate !== 'function' || typeof api.Module !== 'function') {
    throw new OnepadError('HRNG_WASM_UNAVAILABLE', { reason: 'no-webassembly' });
  }
  const bytes = Buffer.from(KERNELS_WASM_BASE64, 'base64');
  let valid = false;
  try {
    valid = api.validate(bytes);
  } catch {
    valid = false;
  }
  if (!valid) throw new OnepadError('HRNG_WASM_UNAVAILABLE', { reason: 'invalid' });
  try {
    return new api.Module(bytes);
  } catch {
    throw new OnepadError('HRNG_WASM_UNAVAILABLE', { reason: 'compile' });
  }
}

/**
 * Check at start-up that the kernels can run here (compiles them once for the process).
 * @throws OnepadError HRNG_WASM_UNAVAILABLE
 */
export function requireKernels(): void {
  module();
}

function module(): object {
  if (!compiled) compiled = compileKernels();
  return compiled;
}

const PAGE = 65536;

/**
 * One instance of the kernels with its own memory. Regions are allocated once (by the constructors of the tests
 * and the extractor) and never freed; {@link clean} zeroes everything.
 */
export class KernelMemory {
  readonly k: KernelExports;
  private top = 1024; // offset 0 stays unused: a null pointer never addresses a region
  private u8v: Uint8Array;

  /** @throws OnepadError HRNG_WASM_UNAVAILABLE when WebAssembly (with SIMD) is not available */
  constructor() {
    const m = module();
    try {
      this.k = new wasmApi.Instance(m, {}).exports as unknown as KernelExports;
    } catch {
      throw new OnepadError('HRNG_WASM_UNAVAILABLE', { reason: 'instantiate' });
    }
    this.u8v = new Uint8Array(this.k.memory.buffer);
  }

  /**
   * A new zeroed region of `bytes` bytes, aligned to `align` (16 by default; 64 for a cache line).
   * @throws RangeError when the memory cannot grow
   */
  alloc(bytes: number, align = 16): number {
    const at = Math.ceil(this.top / align) * align;
    const end = at + bytes;
    const have = this.k.memory.buffer.byteLength;
    if (end > have) this.k.memory.grow(Math.ceil((end - have) / PAGE));
    this.top = end;
    return at;
  }

  /** The whole memory as bytes (a fresh view after the memory grew). */
  get u8(): Uint8Array {
    if (this.u8v.buffer !== this.k.memory.buffer) this.u8v = new Uint8Array(this.k.memory.buffer);
    return this.u8v;
  }

  /** Zero every region. */
  clean(): void {
    this.u8.fill(0);
  }
}

/** Bytes of input one staging call takes at most (longer inputs are fed in pieces of this size). */
export const STAGE_BYTES = 1 << 20;

/**
 * A region where input is copied before the kernels read it. With `history`, the last `history` bytes of the
 * input that came before stay right in front of each new input (at `at - history`), so a kernel can look back
 * across pushes in place (the periodic test).
 */
export class Stage {
  /** Where each input is put. */
  readonly at: number;
  private readonly base: number;
  private lastLen = 0;

  /** @throws RangeError when the memory cannot grow */
  constructor(
    readonly mem: KernelMemory,
    readonly bytes = STAGE_BYTES,
    readonly history = 0,
  ) {
    this.base = mem.alloc(history + bytes);
    this.at = this.base + history;
  }

  /** Copy `src` (at most {@link bytes}) in after the history; returns its offset. */
  put(src: Uint8Array): number {
    const u8 = this.mem.u8;
    if (this.history > 0) u8.copyWithin(this.base, this.base + this.lastLen, this.base + this.lastLen + this.history);
    u8.set(src, this.at);
    this.lastLen = src.length;
    return this.at;
  }

  /** Zero the history and what the last put left. */
  wipe(): void {
    this.mem.u8.fill(0, this.base, this.at + this.lastLen);
    this.lastLen = 0;
  }
}
