/**
 * Benchmark reporting: every figure goes through {@link Reporter.figure}, which prints a table row, or with
 * `--json` one JSON object per line. Each area has a bench/<area>.ts exporting `run(report)`.
 */
export interface Figure {
  /** Which bench produced it, e.g. "engine". */
  readonly bench: string;
  /** What was measured, e.g. "package+unpackage/s, burning on". */
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What it is compared with, when the issue asks for a comparison. */
  readonly baseline?: { readonly name: string; readonly value: number; readonly unit: string };
  /** value / baseline.value when both are in the same unit. */
  readonly ratio?: number;
  /** Free text: target, conditions. */
  readonly note?: string;
}

export interface Reporter {
  figure(f: Figure): void;
  /** A free line of context (printed as a comment in table mode, skipped in JSON mode). */
  info(line: string): void;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}

/** A reporter that prints to stdout, as a table or as JSON lines. */
export function consoleReporter(json: boolean): Reporter {
  return {
    figure(f) {
      if (json) {
        process.stdout.write(`${JSON.stringify(f)}\n`);
        return;
      }
      const base = f.baseline ? `  vs ${f.baseline.name}: ${fmt(f.baseline.value)} ${f.baseline.unit}` : '';
      const ratio = f.ratio !== undefined ? `  (ratio ${fmt(f.ratio)})` : '';
      const note = f.note ? `  [${f.note}]` : '';
      process.stdout.write(
        `${f.bench.padEnd(10)} ${f.name.padEnd(58)} ${fmt(f.value).padStart(12)} ${f.unit}${base}${ratio}${note}\n`,
      );
    },
    info(line) {
      if (!json) process.stdout.write(`# ${line}\n`);
    },
  };
}
