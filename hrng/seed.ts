/**
 * The extractor seed: made once, at the first fill, from the sources, and kept in the data dir
 * (`hrng-seed.bin`, mode 0600) so that every later fill uses the same Toeplitz matrix.
 *
 * Made from raw, health-tested bytes of the sources (their XOR when there are several) that are never pooled:
 * {@link EXTRACTOR_SEED_BYTES} / 64 pieces of 64 bytes, piece i = SHA-512("onepad extractor seed" || i ||
 * the i-th slice of raw bytes), each slice holding at least 1024 bits of claimed min-entropy (twice the
 * SP 800-90B 3.1.5.1.2 condition for a vetted conditioning function's output to count as full entropy:
 * h_in >= n_out + 64).
 *
 * File: "OPXS", version 1, three zero bytes, the seed, SHA-256 of everything before it. Written to a temporary
 * file, fsynced, linked into place (never replacing an existing seed), the directory fsynced.
 */
import { closeSync, fsyncSync, linkSync, lstatSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { OnepadError } from '../device/errors.js';
import { EXTRACTOR_SEED_BYTES } from './toeplitz.js';

const MAGIC = [0x4f, 0x50, 0x58, 0x53]; // "OPXS"
const HEADER = 8;
const FILE_BYTES = HEADER + EXTRACTOR_SEED_BYTES + 32;
const PIECE = 64;
const DOMAIN = new TextEncoder().encode('onepad extractor seed');

/** Raw bytes per 64-byte seed piece at claimed min-entropy h: 1024 bits of it. */
export function seedSliceBytes(h: number): number {
  if (!(h > 0 && h <= 8)) throw new RangeError('h must be in (0, 8]');
  return Math.ceil(1024 / h);
}

/** Raw bytes a seed is made from at claimed min-entropy h. */
export function seedRawBytes(h: number): number {
  return (EXTRACTOR_SEED_BYTES / PIECE) * seedSliceBytes(h);
}

/**
 * Condition raw bytes into a seed (see the module comment).
 * @throws RangeError when raw is shorter than {@link seedRawBytes}(h)
 */
export function seedFromRaw(raw: Uint8Array, h: number): Uint8Array {
  const slice = seedSliceBytes(h);
  const pieces = EXTRACTOR_SEED_BYTES / PIECE;
  if (raw.length < pieces * slice) throw new RangeError('not enough raw bytes for a seed');
  const seed = new Uint8Array(EXTRACTOR_SEED_BYTES);
  const msg = new Uint8Array(DOMAIN.length + 4 + slice);
  msg.set(DOMAIN, 0);
  for (let i = 0; i < pieces; i++) {
    new DataView(msg.buffer).setUint32(DOMAIN.length, i);
    msg.set(raw.subarray(i * slice, (i + 1) * slice), DOMAIN.length + 4);
    seed.set(sha512(msg), i * PIECE);
  }
  msg.fill(0);
  return seed;
}

function invalid(reason: string): OnepadError {
  return new OnepadError('HRNG_SEED_INVALID', { reason });
}

/**
 * Read the seed file.
 * @returns the seed, or null when there is none yet
 * @throws OnepadError HRNG_SEED_INVALID when the file is a symlink, not a regular file, the wrong size, or fails
 *   its checksum
 */
export function loadSeed(path: string): Uint8Array | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return null;
  if (st.isSymbolicLink() || !st.isFile()) throw invalid('not a regular file');
  if (st.size !== FILE_BYTES) throw invalid('size');
  const buf = new Uint8Array(readFileSync(path));
  const body = buf.subarray(0, HEADER + EXTRACTOR_SEED_BYTES);
  const sum = sha256(body);
  const ok =
    MAGIC.every((b, i) => buf[i] === b) &&
    buf[4] === 1 &&
    sum.every((b, i) => buf[HEADER + EXTRACTOR_SEED_BYTES + i] === b);
  if (!ok) {
    buf.fill(0);
    throw invalid('checksum');
  }
  const seed = buf.slice(HEADER, HEADER + EXTRACTOR_SEED_BYTES);
  buf.fill(0);
  return seed;
}

/**
 * Write the seed durably, never replacing an existing one.
 * @throws OnepadError STORAGE_FAILED when it cannot be written, synced or linked (also when a seed exists)
 */
export function saveSeed(path: string, seed: Uint8Array): void {
  if (seed.length !== EXTRACTOR_SEED_BYTES) throw new RangeError('seed has the wrong length');
  const file = new Uint8Array(FILE_BYTES);
  file.set(MAGIC, 0);
  file[4] = 1;
  file.set(seed, HEADER);
  file.set(sha256(file.subarray(0, HEADER + EXTRACTOR_SEED_BYTES)), HEADER + EXTRACTOR_SEED_BYTES);
  const tmp = `${path}.tmp`;
  try {
    rmSync(tmp, { force: true });
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      let w = 0;
      while (w < file.length) w += writeSync(fd, file, w, file.length - w);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    rmSync(tmp, { force: true });
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    throw new OnepadError('STORAGE_FAILED', { op: 'extractor seed write' });
  } finally {
    file.fill(0);
  }
}
