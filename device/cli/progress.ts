/**
 * One progress line for long jobs on a terminal (create-pair, burning, pairing): done and total, share, rate
 * and time left. Rewrites itself with a carriage return; the caller ends it with a newline.
 */

/** What a long job reports. */
export interface JobProgress {
  readonly bytes: number;
  readonly total: number;
  readonly bytesPerSecond: number;
  readonly secondsLeft: number;
}

/** Bytes as GB/MB (powers of 10, as disks are sold). */
export function formatBytes(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} TB`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.round(n / 1e3)} kB`;
}

/** Seconds as "1 h 02 min", "3 min 05 s", "42 s", or "?" while unknown. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.ceil(s);
  if (t >= 3600) return `${Math.floor(t / 3600)} h ${String(Math.floor((t % 3600) / 60)).padStart(2, '0')} min`;
  if (t >= 60) return `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, '0')} s`;
  return `${t} s`;
}

/** "label: 1.20 GB of 4.00 GB (30%), 350.0 MB/s, 8 s left" */
export function progressLine(label: string, p: JobProgress): string {
  const pct = p.total > 0 ? Math.floor((100 * p.bytes) / p.total) : 100;
  return `${label}: ${formatBytes(p.bytes)} of ${formatBytes(p.total)} (${pct}%), ${formatBytes(p.bytesPerSecond)}/s, ${formatDuration(p.secondsLeft)} left`;
}

/** A writer of progress lines at most every `everyMs` (and always the last one). */
export function throttledProgress(
  out: { write(s: string): unknown },
  label: string,
  everyMs = 500,
): (p: JobProgress) => void {
  let last = 0;
  return (p) => {
    const t = Date.now();
    if (p.bytes < p.total && t - last < everyMs) return;
    last = t;
    out.write(`${progressLine(label, p)}\n`);
  };
}
