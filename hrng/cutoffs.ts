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
  if (!Number.isFinite(alphaLog2) || alphaLog2 < 1 || alphaLog2 > 64) {
    throw new RangeError('alphaLog2 must be between 1 and 64');
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
