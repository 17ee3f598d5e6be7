/**
 * The WebAssembly inner loops of the HRNG pipeline (hrng/wasm/kernels.as, 128-bit SIMD), and the linear memory
 * they work on. The module is compiled once per process from the bytes committed in
 * hrng/wasm/kernels.generated.ts (rebuilt and compared by test/hrng/kernels-build.test.ts); each user (one
 * health gate, one extractor) gets its own instance and memory, laid out by {@link KernelMemory.alloc}.
 *
 * No kernel keeps state of its own: every counter lives in the memory regions the JavaScript classes hand it,
 * and each kernel mirrors a JavaScript reference that its class keeps (test/hrng/kernels.test.ts compares them).
 */
import { KERNELS_WASM_BASE64 } from './wasm/kernels.generated.js';

/** The part of the global WebAssembly API used here (the project's lib settings do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
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
  periodic(st: number, ring: number, pos: number, hashes: number, p: number, len: number): number;
  repeat(st: number, gens: number, partial: number, p: number, len: number): number;
  mcvScan(ring: number, counts: number, W: number, at: number, full: number, p: number, len: number): number;
  mcvMax(counts: number): number;
  collisionScan(table: number, state: number, p: number, len: number, ret: number): number;
  fipsBlock(step: number, inner: number, work: number, p: number): number;
}

let compiled: object | null = null;

function module(): object {
  if (!compiled) compiled = new wasmApi.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
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

  /** @throws RangeError when WebAssembly (with SIMD) is not available */
  constructor() {
    try {
      this.k = new wasmApi.Instance(module(), {}).exports as unknown as KernelExports;
    } catch {
      throw new RangeError('WebAssembly SIMD is not available to this Node.js');
    }
    this.u8v = new Uint8Array(this.k.memory.buffer);
  }

  /**
   * A new zeroed region of `bytes` bytes, aligned to 16.
   * @throws RangeError when the memory cannot grow
   */
  alloc(bytes: number): number {
    const at = Math.ceil(this.top / 16) * 16;
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
 * A region where input is copied before the kernels read it.
 */
export class Stage {
  readonly at: number;
  constructor(
    readonly mem: KernelMemory,
    readonly bytes = STAGE_BYTES,
  ) {
    this.at = mem.alloc(bytes);
  }

  /** Copy `src` (at most {@link bytes}) in; returns its offset. */
  put(src: Uint8Array): number {
    this.mem.u8.set(src, this.at);
    return this.at;
  }

  /** Zero what a put left there. */
  wipe(len: number): void {
    this.mem.u8.fill(0, this.at, this.at + len);
  }
}
