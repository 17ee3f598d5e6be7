/**
 * Message bytes to text for the screen (decoded strictly), wrapping plain text to a width, pages, number formats.
 */

/** Message bytes decoded for the screen. */
export interface DecodedMessage {
  /** The text (exactly the decoded code points), or the bytes as hex pairs separated by spaces. */
  readonly text: string;
  /** True when the bytes were not valid UTF-8 and are shown as hex instead. */
  readonly binary: boolean;
}

/**
 * Decode message bytes for display: strict UTF-8 (nothing replaced, removed or normalised: the faithful
 * renderer in display/faithful.ts shows every code point), or hex when the bytes are not UTF-8.
 */
export function decodeMessage(bytes: Uint8Array): DecodedMessage {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), binary: false };
  } catch {
    return { text: Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' '), binary: true };
  }
}

/**
 * Wrap text to lines no wider than `maxWidth` as measured by `measure`. Paragraphs (`\n`) start new lines;
 * words longer than a line are broken between characters (code points, never inside a surrogate pair).
 */
export function wrapText(text: string, maxWidth: number, measure: (s: string) => number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/(?<= )/)) {
      const candidate = line + word;
      if (measure(candidate.trimEnd()) <= maxWidth) {
        line = candidate;
        continue;
      }
      if (line) out.push(line.trimEnd());
      line = '';
      // The word alone may still be too wide: break it between code points.
      let piece = '';
      for (const ch of word) {
        if (measure((piece + ch).trimEnd()) > maxWidth && piece) {
          out.push(piece);
          piece = '';
        }
        piece += ch;
      }
      line = piece;
    }
    out.push(line.trimEnd());
  }
  return out;
}

/** Cut lines into pages of `perPage` lines (at least one page, even for no lines). */
export function paginate(lines: readonly string[], perPage: number): string[][] {
  const n = Math.max(1, Math.floor(perPage));
  const pages: string[][] = [];
  for (let i = 0; i < lines.length; i += n) pages.push(lines.slice(i, i + n));
  if (pages.length === 0) pages.push([]);
  return pages;
}

/** 1234567 -> "1,234,567". */
export function groupDigits(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A byte count for people: "812 B", "12.5 KiB", "3.20 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
}

/** Seconds for people: "45 s", "3 min 05 s", "1 h 02 min". */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, '0')} s`;
  return `${Math.floor(t / 3600)} h ${String(Math.floor((t % 3600) / 60)).padStart(2, '0')} min`;
}
