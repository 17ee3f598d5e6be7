// The inner loops of the HRNG pipeline, in AssemblyScript (compiled to WebAssembly with 128-bit SIMD by
// test/hrng/kernels-build.ts into hrng/wasm/kernels.generated.ts; test/hrng/kernels-build.test.ts rebuilds it
// and compares). Each function is a plain loop over linear memory laid out by hrng/kernels.ts: no allocation,
// no runtime, no state but the memory it is handed. Every one mirrors a JavaScript implementation that stays as
// its reference (hrng/toeplitz.ts, health.ts, periodic-test.ts, repeat-test.ts, estimate-tests.ts, fips.ts);
// the tests in test/hrng/kernels.test.ts compare them output for output.

// ---- Toeplitz extraction (hrng/toeplitz.ts) ----
// table: 256 rows of rowBytes bytes; row v holds Q_v (bit t of the row is XOR over set bits k of v of the seed
// bit t + 7 - k). Input byte b of a block (cb = nB - 1 - b) adds row x_b read from byte offset cb: the Toeplitz
// shift structure makes every alignment one unaligned load of the same row.

/** nBlocks blocks of nB bytes at input -> 112 bytes each at out (7 vectors). */
export function toeplitz7(table: usize, rowBytes: usize, input: usize, nB: usize, out: usize, nBlocks: i32): void {
  for (let blk = 0; blk < nBlocks; blk++) {
    let a0 = i32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    let a4 = a0;
    let a5 = a0;
    let a6 = a0;
    const last = input + nB - 1;
    for (let cb: usize = 0; cb < nB; cb++) {
      const p = table + (<usize>load<u8>(last - cb)) * rowBytes + cb;
      a0 = v128.xor(a0, v128.load(p, 0));
      a1 = v128.xor(a1, v128.load(p, 16));
      a2 = v128.xor(a2, v128.load(p, 32));
      a3 = v128.xor(a3, v128.load(p, 48));
      a4 = v128.xor(a4, v128.load(p, 64));
      a5 = v128.xor(a5, v128.load(p, 80));
      a6 = v128.xor(a6, v128.load(p, 96));
    }
    v128.store(out, a0, 0);
    v128.store(out, a1, 16);
    v128.store(out, a2, 32);
    v128.store(out, a3, 48);
    v128.store(out, a4, 64);
    v128.store(out, a5, 80);
    v128.store(out, a6, 96);
    input += nB;
    out += 112;
  }
}

/** The same with 8 vectors: up to 128 output bytes per block, outBytes apart (the caller leaves 16 bytes slack). */
export function toeplitz8(
  table: usize,
  rowBytes: usize,
  input: usize,
  nB: usize,
  out: usize,
  outBytes: usize,
  nBlocks: i32,
): void {
  for (let blk = 0; blk < nBlocks; blk++) {
    let a0 = i32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    let a4 = a0;
    let a5 = a0;
    let a6 = a0;
    let a7 = a0;
    const last = input + nB - 1;
    for (let cb: usize = 0; cb < nB; cb++) {
      const p = table + (<usize>load<u8>(last - cb)) * rowBytes + cb;
      a0 = v128.xor(a0, v128.load(p, 0));
      a1 = v128.xor(a1, v128.load(p, 16));
      a2 = v128.xor(a2, v128.load(p, 32));
      a3 = v128.xor(a3, v128.load(p, 48));
      a4 = v128.xor(a4, v128.load(p, 64));
      a5 = v128.xor(a5, v128.load(p, 80));
      a6 = v128.xor(a6, v128.load(p, 96));
      a7 = v128.xor(a7, v128.load(p, 112));
    }
    v128.store(out, a0, 0);
    v128.store(out, a1, 16);
    v128.store(out, a2, 32);
    v128.store(out, a3, 48);
    v128.store(out, a4, 64);
    v128.store(out, a5, 80);
    v128.store(out, a6, 96);
    v128.store(out, a7, 112);
    input += nB;
    out += outBytes;
  }
}

// ---- Repetition Count Test (hrng/health.ts) ----
// st: i32 [last, run, longest, cutoff]. Returns the index of the failing sample, or -1.
// 16 bytes at a time: a block in which no byte equals the one before it (the first compared with `last`) closes
// the current run and leaves a run of 1; only blocks with an equal neighbour are walked byte by byte.
export function rct(st: usize, p: usize, len: i32): i32 {
  let last = load<i32>(st, 0);
  let run = load<i32>(st, 4);
  let longest = load<i32>(st, 8);
  const cutoff = load<i32>(st, 12);
  let failedAt = -1;
  let i = 0;
  while (i < len) {
    if (i + 16 <= len && i > 0 && !v128.any_true(i8x16.eq(v128.load(p + <usize>i), v128.load(p + <usize>i - 1)))) {
      // i > 0: the byte before is in the input, and equals last.
      if (run > longest) longest = run;
      run = 1;
      last = <i32>load<u8>(p + <usize>i + 15);
      i += 16;
      continue;
    }
    const end = min(len, i + 16);
    for (; i < end; i++) {
      const b = <i32>load<u8>(p + <usize>i);
      if (b == last) {
        if (++run >= cutoff) {
          failedAt = i;
          break;
        }
      } else {
        if (run > longest) longest = run;
        last = b;
        run = 1;
      }
    }
    if (failedAt >= 0) break;
  }
  if (run > longest) longest = run;
  store<i32>(st, last, 0);
  store<i32>(st, run, 4);
  store<i32>(st, longest, 8);
  return failedAt;
}

// ---- Adaptive Proportion Test (hrng/health.ts) ----
// st: i32 [first, count, index, max, cutoff, window].
// Whole windows of 512 are counted 16 bytes at a time (the count only grows inside a window, so its highest
// value is its last and it fails at all only when its total reaches the cutoff; then it is walked byte by byte
// to find where). Partial windows at either end of the input are walked byte by byte.
function aptScalar(st: usize, p: usize, from: i32, to: i32): i32 {
  let first = load<i32>(st, 0);
  let count = load<i32>(st, 4);
  let index = load<i32>(st, 8);
  let max = load<i32>(st, 12);
  const cutoff = load<i32>(st, 16);
  const window = load<i32>(st, 20);
  let failedAt = -1;
  for (let i = from; i < to; i++) {
    const b = <i32>load<u8>(p + <usize>i);
    if (index == 0) {
      first = b;
      count = 1;
    } else if (b == first) {
      count++;
    }
    if (count > max) max = count;
    if (++index == window) index = 0;
    if (count >= cutoff) {
      failedAt = i;
      break;
    }
  }
  store<i32>(st, first, 0);
  store<i32>(st, count, 4);
  store<i32>(st, index, 8);
  store<i32>(st, max, 12);
  return failedAt;
}

export function apt(st: usize, p: usize, len: i32): i32 {
  const window = load<i32>(st, 20);
  let i = 0;
  const index = load<i32>(st, 8);
  if (index != 0) {
    const head = min(len, window - index);
    const at = aptScalar(st, p, 0, head);
    if (at >= 0) return at;
    i = head;
  }
  if (window == 512) {
    const cutoff = load<i32>(st, 16);
    while (i + 512 <= len) {
      const w = p + <usize>i;
      const first = load<u8>(w);
      const f = i8x16.splat(first);
      let acc = i8x16.splat(0);
      for (let o: usize = 0; o < 512; o += 16) acc = i8x16.sub(acc, i8x16.eq(v128.load(w + o), f));
      // Lane sums are at most 32: add them up pairwise.
      const s16 = i16x8.extadd_pairwise_i8x16_u(acc);
      const s32 = i32x4.extadd_pairwise_i16x8_u(s16);
      const count = i32x4.extract_lane(s32, 0) + i32x4.extract_lane(s32, 1) + i32x4.extract_lane(s32, 2) + i32x4.extract_lane(s32, 3);
      if (count >= cutoff) {
        const at = aptScalar(st, p, i, i + 512);
        return at;
      }
      if (count > load<i32>(st, 12)) store<i32>(st, count, 12);
      store<i32>(st, <i32>first, 0);
      store<i32>(st, count, 4);
      i += 512;
    }
  }
  if (i < len) return aptScalar(st, p, i, len);
  return -1;
}

// ---- Periodic-structure test (hrng/periodic-test.ts) ----
// st: i64 n @0, i64 candidates @8, i32 hash @16, i32 period @20, i32 L @24, i32 maxP @28, i32 baseL @32.
// The input has the stream's previous bytes right before it (at least maxP + L of them, hrng/kernels.ts Stage),
// so the byte leaving the rolling hash and both sides of a candidate are read in place. table: 16384 entries of
// (i32 hash, u32 position + 1; 0 = empty). A position kept in 32 bits can look recent again 4 GiB later; such a
// candidate is compared byte by byte like any other and cannot match (a real repeat at that distance would have
// put a later position in the slot), so only the candidates statistic can differ from the reference.
const BASE: i32 = 0x01000193;

export function periodic(st: usize, table: usize, p: usize, len: i32): i32 {
  let n = load<i64>(st, 0);
  let candidates = load<i64>(st, 8);
  let h = load<i32>(st, 16);
  const L = load<i32>(st, 24);
  const maxP = <u32>load<i32>(st, 28);
  const baseL = load<i32>(st, 32);
  let failedAt = -1;
  let i = 0;
  // Until the first L bytes of the stream are in: no byte leaves the hash, nothing is looked up.
  for (; i < len && n < <i64>(L - 1); i++) {
    h = h * BASE + <i32>load<u8>(p + <usize>i);
    n++;
  }
  // The L-th byte: nothing leaves the hash yet, but it is looked up.
  let start = i;
  let pos1 = <u32>(n + 1); // position + 1, modulo 2^32
  let first = n == <i64>(L - 1);
  const uL = <usize>L;
  // h = (h - out * baseL) * BASE + in, modulo 2^32, written h * BASE + (in - out * baseLB): one multiply and
  // one add on the chain from byte to byte, the rest off it (the same value: the ring's laws).
  const baseLB = baseL * BASE;
  for (; i < len; i++) {
    const q = p + <usize>i;
    let c = <i32>load<u8>(q);
    if (first) first = false;
    else c -= (<i32>load<u8>(q - uL)) * baseLB;
    h = h * BASE + c;
    const e = table + ((<usize>((<u32>(h * <i32>0x9e3779b1)) >>> 18)) << 3);
    const entry = load<u64>(e);
    const d = pos1 - <u32>(entry >>> 32);
    if (<i32>entry == h && d <= maxP && <u32>(entry >>> 32) != 0) {
      candidates++;
      let k: usize = 0;
      const back = <usize>d;
      while (k < uL && load<u8>(q - k) == load<u8>(q - k - back)) k++;
      if (k == uL) {
        store<i32>(st, <i32>d, 20);
        failedAt = i;
        i++;
        break;
      }
    }
    store<u64>(e, ((<u64>pos1) << 32) | <u64>(<u32>h));
    pos1++;
  }
  n += <i64>(i - start);
  store<i64>(st, n, 0);
  store<i64>(st, candidates, 8);
  store<i32>(st, h, 16);
  return failedAt;
}

// ---- Repeated 64-byte block (hrng/repeat-test.ts) ----
// st: f64 blocks @0, i32 cur @8, i32 count0 @12, i32 count1 @16, i32 partialLen @20, i32 slots @24,
// i32 perGeneration @28. gens: two generations of slots 8-byte fingerprints ((h2 | 1) << 32 | h1, never 0; 0 is
// an empty slot), generation g at gens + g slots 8, in buckets of 8 (one 64-byte cache line): a lookup reads one
// bucket with four SIMD compares, and goes on to the next bucket only while the buckets it met are full.
// partial: 64 bytes. Returns the index of the last byte of the first repeated block, or -1; on failure the
// partial is dropped. Found exactly when the reference (open addressing, same fingerprints, same generations)
// finds it.

function genA(gens: usize, slots: usize, g: i32): usize {
  return gens + (<usize>g) * slots * 8;
}

/** 1 when the fingerprint is in generation g; inserts it when absent and insert. */
function probe(gens: usize, slots: usize, g: i32, h1: i32, h2: i32, insert: bool, st: usize): bool {
  const base = genA(gens, slots, g);
  const mask = (slots >> 3) - 1;
  const fp = ((<u64>(<u32>h2)) << 32) | <u64>(<u32>h1);
  const f = i64x2.splat(<i64>fp);
  const z = i64x2.splat(0);
  let bk = (<usize>(<u32>(h2 * <i32>0x9e3779b1))) & mask;
  // Ends at a bucket with an empty slot: the table is never more than half full.
  while (true) {
    const q = base + (bk << 6);
    const v0 = v128.load(q, 0);
    const v1 = v128.load(q, 16);
    const v2 = v128.load(q, 32);
    const v3 = v128.load(q, 48);
    const hit = v128.or(v128.or(i64x2.eq(v0, f), i64x2.eq(v1, f)), v128.or(i64x2.eq(v2, f), i64x2.eq(v3, f)));
    if (v128.any_true(hit)) return true;
    const empty =
      i64x2.bitmask(i64x2.eq(v0, z)) |
      (i64x2.bitmask(i64x2.eq(v1, z)) << 2) |
      (i64x2.bitmask(i64x2.eq(v2, z)) << 4) |
      (i64x2.bitmask(i64x2.eq(v3, z)) << 6);
    if (empty != 0) {
      if (insert) {
        store<u64>(q + ((<usize>ctz(empty)) << 3), fp);
        const c = st + 12 + (<usize>g << 2);
        store<i32>(c, load<i32>(c) + 1);
      }
      return false;
    }
    bk = (bk + 1) & mask;
  }
  return false;
}

/** The block's two 32-bit fingerprints (the second made odd, so (0, 0) marks an empty slot). */
function fingerprint(o: usize, out: usize): void {
  let h1: i32 = 0x243f6a88;
  let h2: i32 = <i32>0x85a308d3;
  for (let i: usize = 0; i < 64; i += 4) {
    const w = load<i32>(o + i);
    h1 = (h1 ^ w) * <i32>0x9e3779b1;
    h1 ^= <i32>(<u32>h1 >>> 15);
    h2 = (h2 + w) * <i32>0x85ebca77;
    h2 ^= <i32>(<u32>h2 >>> 13);
    h2 = h2 * <i32>0xc2b2ae3d;
  }
  h1 = (h1 ^ <i32>(<u32>h1 >>> 16)) * 0x7feb352d;
  h1 ^= <i32>(<u32>h1 >>> 15);
  h2 ^= <i32>(<u32>h2 >>> 16);
  store<i32>(out, h1, 0);
  store<i32>(out, h2 | 1, 4);
}

/** false when the fingerprint repeats one of the history; else inserts it (and turns generations over). */
function checkPrint(st: usize, gens: usize, h1: i32, h2: i32): bool {
  store<f64>(st, load<f64>(st, 0) + 1, 0);
  const slots = <usize>load<i32>(st, 24);
  const cur = load<i32>(st, 8);
  if (probe(gens, slots, cur ^ 1, h1, h2, false, st) || probe(gens, slots, cur, h1, h2, true, st)) return false;
  if (load<i32>(st + 12 + (<usize>cur << 2)) >= load<i32>(st, 28)) {
    // The older generation is dropped and becomes the current one.
    const old = cur ^ 1;
    memory.fill(genA(gens, slots, old), 0, slots * 8);
    store<i32>(st + 12 + (<usize>old << 2), 0);
    store<i32>(st, old, 8);
  }
  return true;
}

// prints: scratch for 2 i32 per block of the input (len / 64 + 1 blocks).
const REPEAT_TOUCH = 64;
// All fingerprints of the input are made first, then looked up in order: the lookups (cache misses in a
// table of tens of MiB) then follow each other closely enough to overlap.
export function repeat(st: usize, gens: usize, partial: usize, prints: usize, p: usize, len: i32): i32 {
  let i = 0;
  let partialLen = load<i32>(st, 20);
  if (partialLen > 0) {
    const k = min(64 - partialLen, len);
    memory.copy(partial + <usize>partialLen, p, <usize>k);
    partialLen += k;
    i = k;
    if (partialLen < 64) {
      store<i32>(st, partialLen, 20);
      return -1;
    }
    store<i32>(st, 0, 20);
    fingerprint(partial, prints);
    if (!checkPrint(st, gens, load<i32>(prints, 0), load<i32>(prints, 4))) return i - 1;
  }
  const blocks = (len - i) >> 6;
  for (let b = 0; b < blocks; b++) fingerprint(p + <usize>(i + (b << 6)), prints + (<usize>b << 3));
  const slots = <usize>load<i32>(st, 24);
  const mask = (slots >> 3) - 1;
  const g1 = gens + slots * 8;
  let touched: u64 = 0;
  for (let b0 = 0; b0 < blocks; b0 += REPEAT_TOUCH) {
    const b1 = min(blocks, b0 + REPEAT_TOUCH);
    // Read the first bucket of each block of the batch in both generations, in a loop of independent loads:
    // the cache misses overlap, and the lookups below find the lines in the cache. Only loads: what the
    // lookups find is the same.
    for (let b = b0; b < b1; b++) {
      const o = ((<usize>(<u32>(load<i32>(prints + (<usize>b << 3), 4) * <i32>0x9e3779b1))) & mask) << 6;
      touched ^= load<u64>(gens + o) ^ load<u64>(g1 + o);
    }
    for (let b = b0; b < b1; b++) {
      const f = prints + (<usize>b << 3);
      if (!checkPrint(st, gens, load<i32>(f, 0), load<i32>(f, 4))) {
        store<i32>(st, 0, 20);
        return i + (b << 6) + 63;
      }
    }
  }
  // Kept, so that the loads above are not optimised away (the slot after the last fingerprint is free).
  store<u64>(prints + (<usize>blocks << 3), touched);
  i += blocks << 6;
  if (i < len) {
    memory.copy(partial, p + <usize>i, <usize>(len - i));
    store<i32>(st, len - i, 20);
  } else {
    store<i32>(st, 0, 20);
  }
  return -1;
}

// ---- Sliding most-common-value test (hrng/estimate-tests.ts) ----
// The window (W = steps x step bytes) is the sum of the histograms of its last `steps` steps: each byte adds 1
// to its step's histogram (four interleaved copies, so neighbouring equal bytes do not wait on each other),
// and a finished step is added to the window's counts while the step leaving the window is taken out.
// hist: 4 x 256 i32 (the step in progress); hists: steps x 256 i32 (ring of finished steps); counts: 256 i32.
export function mcvScan(hist: usize, p: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const a = hist + ((<usize>load<u8>(p + <usize>i)) << 2);
    store<i32>(a, load<i32>(a) + 1);
    const b = hist + 1024 + ((<usize>load<u8>(p + <usize>i + 1)) << 2);
    store<i32>(b, load<i32>(b) + 1);
    const c = hist + 2048 + ((<usize>load<u8>(p + <usize>i + 2)) << 2);
    store<i32>(c, load<i32>(c) + 1);
    const d = hist + 3072 + ((<usize>load<u8>(p + <usize>i + 3)) << 2);
    store<i32>(d, load<i32>(d) + 1);
  }
  for (; i < len; i++) {
    const a = hist + ((<usize>load<u8>(p + <usize>i)) << 2);
    store<i32>(a, load<i32>(a) + 1);
  }
}

/** Close a step: counts += the step's histogram - slot's old histogram; the slot keeps the new one. */
export function mcvStep(hist: usize, slot: usize, counts: usize): void {
  for (let o: usize = 0; o < 1024; o += 16) {
    const h = i32x4.add(
      i32x4.add(v128.load(hist + o), v128.load(hist + o + 1024)),
      i32x4.add(v128.load(hist + o + 2048), v128.load(hist + o + 3072)),
    );
    v128.store(counts + o, i32x4.sub(i32x4.add(v128.load(counts + o), h), v128.load(slot + o)));
    v128.store(slot + o, h);
  }
  memory.fill(hist, 0, 4096);
}

/** The largest of the 256 counts. */
export function mcvMax(counts: usize): i32 {
  let m = i32x4.splat(0);
  for (let o: usize = 0; o < 1024; o += 16) m = i32x4.max_s(m, v128.load(counts + o));
  return max(
    max(i32x4.extract_lane(m, 0), i32x4.extract_lane(m, 1)),
    max(i32x4.extract_lane(m, 2), i32x4.extract_lane(m, 3)),
  );
}

// ---- Sliding collision test (hrng/estimate-tests.ts) ----
// table: 1024 i32 (state << 8 | byte). ret: i32 [short, all], then 24 i32 of scratch. Returns the new state.
// One table lookup per byte, each waiting on the one before (the state). A long input is walked as four quarters
// at once: the state at the start of quarters 2..4 is not known until the quarter before is done, so each of
// them first walks its first COLLISION_PREFIX bytes from each of the four states; when the four walks end in one
// state (the parse has found the same sample boundary, as it does within a few bits of any data but the most
// regular), the rest of the quarter is walked from there alongside the others, and the prefix walk that started
// from the true state is added in at the end. When they do not agree, the input is walked in one chain.
const COLLISION_PREFIX = 32;

function collisionSeq(table: usize, state: i32, p: usize, from: i32, to: i32, ret: usize): i32 {
  let st = state;
  let short = 0;
  let all = 0;
  for (let i = from; i < to; i++) {
    const e = load<i32>(table + ((<usize>((st << 8) | <i32>load<u8>(p + <usize>i))) << 2));
    st = e & 15;
    const s = (e >> 4) & 15;
    short += s;
    all += s + (e >> 8);
  }
  store<i32>(ret, short, 0);
  store<i32>(ret, all, 4);
  return st;
}

export function collisionScan(table: usize, state: i32, p: usize, len: i32, ret: usize): i32 {
  if (len < 1024) return collisionSeq(table, state, p, 0, len, ret);
  const q = len >> 2;
  const scratch = ret + 8;
  // Quarters 1..3: the prefix from every start state; the state they agree on starts the rest.
  let m1 = 0;
  let m2 = 0;
  let m3 = 0;
  for (let k = 1; k <= 3; k++) {
    const from = k * q;
    let agreed = -1;
    for (let s0 = 0; s0 < 4; s0++) {
      const end = collisionSeq(table, s0, p, from, from + COLLISION_PREFIX, ret);
      const w = scratch + (<usize>((k - 1) * 4 + s0) << 3);
      store<i32>(w, load<i32>(ret, 0), 0);
      store<i32>(w, load<i32>(ret, 4), 4);
      if (s0 == 0) agreed = end;
      else if (end != agreed) agreed = -1;
      if (agreed < 0) return collisionSeq(table, state, p, 0, len, ret);
    }
    if (k == 1) m1 = agreed;
    else if (k == 2) m2 = agreed;
    else m3 = agreed;
  }
  let short = 0;
  let all = 0;
  // Quarter 0's first COLLISION_PREFIX bytes, so that the four walks below have the same length.
  let m0 = collisionSeq(table, state, p, 0, COLLISION_PREFIX, ret);
  short += load<i32>(ret, 0);
  all += load<i32>(ret, 4);
  const n = q - COLLISION_PREFIX;
  const p0 = p + <usize>COLLISION_PREFIX;
  const p1 = p0 + <usize>q;
  const p2 = p1 + <usize>q;
  const p3 = p2 + <usize>q;
  for (let i = 0; i < n; i++) {
    const e0 = load<i32>(table + ((<usize>((m0 << 8) | <i32>load<u8>(p0 + <usize>i))) << 2));
    const e1 = load<i32>(table + ((<usize>((m1 << 8) | <i32>load<u8>(p1 + <usize>i))) << 2));
    const e2 = load<i32>(table + ((<usize>((m2 << 8) | <i32>load<u8>(p2 + <usize>i))) << 2));
    const e3 = load<i32>(table + ((<usize>((m3 << 8) | <i32>load<u8>(p3 + <usize>i))) << 2));
    m0 = e0 & 15;
    m1 = e1 & 15;
    m2 = e2 & 15;
    m3 = e3 & 15;
    const s = ((e0 >> 4) & 15) + ((e1 >> 4) & 15) + ((e2 >> 4) & 15) + ((e3 >> 4) & 15);
    short += s;
    all += s + (e0 >> 8) + (e1 >> 8) + (e2 >> 8) + (e3 >> 8);
  }
  // The rest of quarter 3 (len is not always a multiple of 4).
  m3 = collisionSeq(table, m3, p, 3 * q + COLLISION_PREFIX + n, len, ret);
  short += load<i32>(ret, 0);
  all += load<i32>(ret, 4);
  // The prefixes that started from the states the quarters before really ended in.
  let w = scratch + (<usize>m0 << 3);
  short += load<i32>(w, 0);
  all += load<i32>(w, 4);
  w = scratch + (<usize>(4 + m1) << 3);
  short += load<i32>(w, 0);
  all += load<i32>(w, 4);
  w = scratch + (<usize>(8 + m2) << 3);
  short += load<i32>(w, 0);
  all += load<i32>(w, 4);
  store<i32>(ret, short, 0);
  store<i32>(ret, all, 4);
  return m3;
}

// ---- FIPS 140-2 block tests (hrng/fips.ts) ----
// step: 54 x 256 u16 run state machine (next | pair of closed runs (13 x 13 kinds) << 6 | long << 14); inner: 256
// rows of 8 bytes (count, then run indexes); work: 256 i32 histogram then 13 i32 run counts then 169 i32 pair
// counts. Returns monobit | poker << 1 | runs << 2 | longRun << 3 (1 = passed).
// The run state at a byte boundary (the last bit, and how many bits before it equal it, at most 26) depends only on
// the bytes just before it, so the block is walked as four quarters at once, each from its own start state: four
// independent chains of table lookups instead of one, and every run is closed by exactly one of them.
const RUN_STATES_PER_BIT = 27;
const FIPS_QUARTER: usize = 625;

/** The run state after the first j bytes of the block at p (j > 0): as the one-chain walk would have it. */
function runStateAt(p: usize, j: usize): i32 {
  const b = <i32>load<u8>(p + j - 1) & 1;
  const flip = b == 1 ? 0xff : 0;
  let run = 0;
  let k = j;
  while (k > 0 && run < 26) {
    const x = (<i32>load<u8>(p + k - 1)) ^ flip; // bits equal to b are now 0; the latest bit is bit 0
    if (x == 0) {
      run += 8;
      k--;
      continue;
    }
    run += ctz<i32>(x);
    break;
  }
  return b * RUN_STATES_PER_BIT + min(run, 26);
}

export function fipsBlock(step: usize, inner: usize, work: usize, p: usize): i32 {
  const hist = work;
  const runs = work + 1024;
  const pairs = work + 1024 + 128; // 169 i32
  memory.fill(work, 0, 1024 + 128 + 169 * 4);
  let s0: usize = load<u8>(p) >> 7 == 1 ? <usize>RUN_STATES_PER_BIT : 0;
  let s1 = <usize>runStateAt(p, FIPS_QUARTER);
  let s2 = <usize>runStateAt(p, 2 * FIPS_QUARTER);
  let s3 = <usize>runStateAt(p, 3 * FIPS_QUARTER);
  let longRun: u32 = 0;
  for (let i: usize = 0; i < FIPS_QUARTER; i++) {
    const q = p + i;
    const b0 = <usize>load<u8>(q);
    const b1 = <usize>load<u8>(q, FIPS_QUARTER);
    const b2 = <usize>load<u8>(q, 2 * FIPS_QUARTER);
    const b3 = <usize>load<u8>(q, 3 * FIPS_QUARTER);
    const e0 = <u32>load<u16>(step + (((s0 << 8) | b0) << 1));
    const e1 = <u32>load<u16>(step + (((s1 << 8) | b1) << 1));
    const e2 = <u32>load<u16>(step + (((s2 << 8) | b2) << 1));
    const e3 = <u32>load<u16>(step + (((s3 << 8) | b3) << 1));
    s0 = <usize>(e0 & 0x3f);
    s1 = <usize>(e1 & 0x3f);
    s2 = <usize>(e2 & 0x3f);
    s3 = <usize>(e3 & 0x3f);
    longRun |= (e0 | e1 | e2 | e3) >>> 14;
    const h0 = hist + (b0 << 2);
    store<i32>(h0, load<i32>(h0) + 1);
    const h1 = hist + (b1 << 2);
    store<i32>(h1, load<i32>(h1) + 1);
    const h2 = hist + (b2 << 2);
    store<i32>(h2, load<i32>(h2) + 1);
    const h3 = hist + (b3 << 2);
    store<i32>(h3, load<i32>(h3) + 1);
    const c0 = pairs + (<usize>((e0 >>> 6) & 0xff) << 2);
    store<i32>(c0, load<i32>(c0) + 1);
    const c1 = pairs + (<usize>((e1 >>> 6) & 0xff) << 2);
    store<i32>(c1, load<i32>(c1) + 1);
    const c2 = pairs + (<usize>((e2 >>> 6) & 0xff) << 2);
    store<i32>(c2, load<i32>(c2) + 1);
    const c3 = pairs + (<usize>((e3 >>> 6) & 0xff) << 2);
    store<i32>(c3, load<i32>(c3) + 1);
  }
  const state = <i32>s3;
  for (let c1: usize = 0; c1 < 13; c1++) {
    for (let c2: usize = 0; c2 < 13; c2++) {
      const n = load<i32>(pairs + ((c1 * 13 + c2) << 2));
      if (n == 0) continue;
      store<i32>(runs + (c1 << 2), load<i32>(runs + (c1 << 2)) + n);
      store<i32>(runs + (c2 << 2), load<i32>(runs + (c2 << 2)) + n);
    }
  }
  {
    const bit = state >= RUN_STATES_PER_BIT ? 1 : 0;
    const run = state - bit * RUN_STATES_PER_BIT;
    const k = runs + (<usize>(bit * 6 + min(run, 6) - 1) << 2);
    store<i32>(k, load<i32>(k) + 1);
    if (run >= 26) longRun = 1;
  }
  let ones = 0;
  let n0: i64 = 0;
  let sumSq: i64 = 0;
  // Nibble counts: high nibble of v is v >> 4, low is v & 15.
  const nib = work + 1024 + 64; // 16 i32 scratch after the run counts (13 of them)
  memory.fill(nib, 0, 64);
  for (let v: usize = 0; v < 256; v++) {
    const n = load<i32>(hist + (v << 2));
    if (n == 0) continue;
    ones += popcnt<i32>(<i32>v) * n;
    const hi = nib + ((v >> 4) << 2);
    store<i32>(hi, load<i32>(hi) + n);
    const lo = nib + ((v & 15) << 2);
    store<i32>(lo, load<i32>(lo) + n);
    const row = inner + (v << 3);
    const cnt = <usize>load<u8>(row);
    for (let j: usize = 1; j <= cnt; j++) {
      const r = runs + ((<usize>load<u8>(row + j)) << 2);
      store<i32>(r, load<i32>(r) + n);
    }
  }
  for (let v: usize = 0; v < 16; v++) {
    n0 = <i64>load<i32>(nib + (v << 2));
    sumSq += n0 * n0;
  }
  const poker = (16.0 / 5000.0) * <f64>sumSq - 5000.0;
  let runsOk = 1;
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < 6; i++) {
      const n = load<i32>(runs + (<usize>(b * 6 + i) << 2));
      let lo = 0;
      let hi = 0;
      if (i == 0) {
        lo = 2315;
        hi = 2685;
      } else if (i == 1) {
        lo = 1114;
        hi = 1386;
      } else if (i == 2) {
        lo = 527;
        hi = 723;
      } else if (i == 3) {
        lo = 240;
        hi = 384;
      } else {
        lo = 103;
        hi = 209;
      }
      if (n < lo || n > hi) runsOk = 0;
    }
  }
  const monobit = ones > 9725 && ones < 10275 ? 1 : 0;
  const pokerOk = poker > 2.16 && poker < 46.17 ? 1 : 0;
  return monobit | (pokerOk << 1) | (runsOk << 2) | ((longRun == 0 ? 1 : 0) << 3);
}
