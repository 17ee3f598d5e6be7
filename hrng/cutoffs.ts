/**
 * Cutoff values of the NIST SP 800-90B section 4.4 continuous health tests, computed from their formulas.
 *
 * - Repetition Count Test: C = 1 + ceil(-log2(alpha) / H).
 * - Adaptive Proportion Test: C = 1 + CRITBINOM(W, 2^-H, 1 - alpha), where CRITBINOM(n, p, q) is the smallest k
 *   with P(X <= k) >= q for X ~ Binomial(n, p). The upper tail is summed exactly in log space.
 *
 * alpha is given as its negative base-2 logarithm (30 means alpha = 2^-30) so that tiny alphas stay exact.
 */

/** The APT window for byte (non-binary) samples, SP 800-90B 4.4.2. */
export const APT_WINDOW_BYTES = 512;

function checkParams(alphaLog2: number, h: number): void {
  if (!Number.isFinite(alphaLog2) || alphaLog2 < 1 || alphaLog2 > 128) {
    throw new RangeError('alphaLog2 must be between 1 and 128');
  }
  if (!Number.isFinite(h) || h <= 0 || h > 8) throw new RangeError('h must be in (0, 8] bits per byte');
}

/**
 * Repetition Count Test cutoff: a run of this many identical samples fails.
 *
 * @param alphaLog2 - -log2(alpha), e.g. 30
 * @param h - claimed min-entropy per sample, bits (0 < h <= 8)
 * @throws RangeError for out-of-range parameters
 * @example rctCutoff(30, 8) // 5
 */
export function rctCutoff(alphaLog2: number, h: number): number {
  checkParams(alphaLog2, h);
  return 1 + Math.ceil(alphaLog2 / h);
}

/** log(exp(a) + exp(b)) without overflow. */
function logAdd(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/**
 * Natural logs of the Binomial(n, p) probability mass, index k = 0..n, built with the exact recurrence
 * C(n, k+1) = C(n, k) (n - k) / (k + 1) in log space.
 */
function binomialLogPmf(n: number, p: number): number[] {
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  const out: number[] = new Array(n + 1);
  let logC = 0;
  for (let k = 0; k <= n; k++) {
    out[k] = logC + k * lp + (n - k) * lq;
    logC += Math.log(n - k) - Math.log(k + 1);
  }
  return out;
}

/**
 * CRITBINOM(n, p, 1 - alpha): the smallest k with P(X <= k) >= 1 - alpha, i.e. P(X > k) <= alpha.
 *
 * @param n - trials
 * @param p - success probability (0 < p < 1)
 * @param alphaLog2 - -log2(alpha)
 * @throws RangeError for out-of-range parameters
 */
export function critBinom(n: number, p: number, alphaLog2: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
  if (!(p > 0 && p < 1)) throw new RangeError('p must be in (0, 1)');
  // A pure function of its arguments, and the MCV cutoff's tail over 65,536 trials takes tens of ms: every gate
  // (each source, each fill run) asks for the same few, so each is computed once per process.
  const key = `${n}:${p}:${alphaLog2}`;
  const known = critBinomCache.get(key);
  if (known !== undefined) return known;
  const c = critBinomUncached(n, p, alphaLog2);
  critBinomCache.set(key, c);
  return c;
}

const critBinomCache = new Map<string, number>();

function critBinomUncached(n: number, p: number, alphaLog2: number): number {
  const logAlpha = -alphaLog2 * Math.LN2;
  const pmf = binomialLogPmf(n, p);
  // Walk down from the top: tail(k) = P(X > k) = sum_{j > k} pmf(j).
  let tail = Number.NEGATIVE_INFINITY; // P(X > n) = 0
  for (let k = n; k >= 0; k--) {
    // tail is P(X > k) here.
    if (tail > logAlpha) return k + 1;
    tail = logAdd(tail, pmf[k] as number);
  }
  return 0;
}

/**
 * Adaptive Proportion Test cutoff for a window of `window` samples: this many occurrences of the window's first
 * sample within the window fails.
 *
 * @param alphaLog2 - -log2(alpha), e.g. 30
 * @param h - claimed min-entropy per sample, bits (0 < h <= 8)
 * @param window - window size, 512 for bytes
 * @throws RangeError for out-of-range parameters
 * @example aptCutoff(30, 8) // 16
 */
export function aptCutoff(alphaLog2: number, h: number, window = APT_WINDOW_BYTES): number {
  checkParams(alphaLog2, h);
  return 1 + critBinom(window, 2 ** -h, alphaLog2);
}

/**
 * Evaluations per GiB of a test that decides every `stepBytes` bytes, as log2 (rounded up): the union bound that
 * turns a per-evaluation false-alarm rate into a per-GiB one.
 */
export function evaluationsPerGiBLog2(stepBytes: number): number {
  if (!(stepBytes > 0)) throw new RangeError('stepBytes must be positive');
  return Math.max(0, Math.ceil(30 - Math.log2(stepBytes)));
}

/**
 * Periodic-structure test: the length L of a repeated substring that fails when it recurs within `maxPeriod`
 * bytes. A byte with min-entropy H (given the past) matches a fixed earlier byte with probability at most 2^-H,
 * so L bytes match at one distance with probability at most 2^-HL; the union over `maxPeriod` distances and the
 * 2^30 positions of a GiB gives a false-alarm rate per GiB of at most 2^30 maxPeriod 2^-HL <= 2^-alphaLog2.
 *
 * @throws RangeError for out-of-range parameters
 * @example periodicRepeatLength(30, 4, 4096) // 18
 */
export function periodicRepeatLength(alphaLog2: number, h: number, maxPeriod: number): number {
  checkParams(alphaLog2, h);
  if (!Number.isInteger(maxPeriod) || maxPeriod < 1) throw new RangeError('maxPeriod must be a positive integer');
  return Math.max(2, Math.ceil((alphaLog2 + 30 + Math.log2(maxPeriod)) / h));
}

/**
 * Sliding most-common-value test: the count of the most common byte value in a window of `window` samples
 * that fails. Under the claim (no value more likely than 2^-H) each value's count is at most Binomial(window,
 * 2^-H) in the upper tail; the union over 256 values and over the evaluations of a GiB (one every `step` bytes)
 * keeps the false-alarm rate per GiB at or below 2^-alphaLog2.
 *
 * @throws RangeError for out-of-range parameters
 */
export function mcvCutoff(alphaLog2: number, h: number, window: number, step: number): number {
  checkParams(alphaLog2, h);
  return 1 + critBinom(window, 2 ** -h, alphaLog2 + 8 + evaluationsPerGiBLog2(step));
}

/**
 * Sliding collision test (bits, SP 800-90B 6.3.2 sampling): with bits of bias at most p = 2^-(H/8), a collision
 * sample is short (two equal bits) with probability at most r = p^2 + (1-p)^2. Over v samples the count of short
 * samples exceeds v r + sqrt(v ln(1/a) / 2) with probability at most a (Hoeffding); a is 2^-alphaLog2 divided
 * by the evaluations of a GiB (one every `stepBytes`).
 *
 * @returns r and ln(1/a), from which {@link collisionCutoff} gives the cutoff for any v
 * @throws RangeError for out-of-range parameters
 */
export function collisionBound(alphaLog2: number, h: number, stepBytes: number): { r: number; lnInvAlpha: number } {
  checkParams(alphaLog2, h);
  const p = 2 ** (-h / 8);
  return { r: p * p + (1 - p) * (1 - p), lnInvAlpha: (alphaLog2 + evaluationsPerGiBLog2(stepBytes)) * Math.LN2 };
}

/** The short-sample count that fails among v collision samples (see {@link collisionBound}). */
export function collisionCutoff(bound: { r: number; lnInvAlpha: number }, v: number): number {
  return Math.floor(v * bound.r + Math.sqrt((v * bound.lnInvAlpha) / 2)) + 1;
}

/**
 * Per-block failure rate of the FIPS 140-2 tests on good data that the failure-rate test assumes: measured
 * 7.8e-4 (62 of 80,000 blocks of node:crypto randomBytes; 0.08%, as rngd's documentation says), taken as 2e-3.
 */
export const FIPS_GOOD_FAILURE_RATE = 0.002;

/**
 * FIPS failure-rate test: this many failed blocks among the last `window` fails. Good data fails a block with
 * probability at most {@link FIPS_GOOD_FAILURE_RATE}; the union over the evaluations of a GiB (one per 2500-byte
 * block) keeps the false-alarm rate per GiB at or below 2^-alphaLog2.
 *
 * @throws RangeError for out-of-range parameters
 */
export function fipsRateCutoff(alphaLog2: number, window: number): number {
  checkParams(alphaLog2, 8);
  return 1 + critBinom(window, FIPS_GOOD_FAILURE_RATE, alphaLog2 + evaluationsPerGiBLog2(2500));
}
