/**
 * What crosses between the host and the power-cut guest. Host -> guest: one {@link Inbox} on a raw virtual disk
 * (JSON, NUL-terminated). Guest -> host: JSON lines on the virtio-serial port, one {@link GuestRecord} each.
 * No pad bytes cross except in `draw` records (the peer's copy of a pad, as pairing would hand it over).
 */

/** The host's instructions for one boot. */
export interface Inbox {
  readonly boot: number;
  /** Hex seed of all the guest's randomness in this boot (see guest/main.ts). */
  readonly seed: string;
  /** Hex id of the pad shared with the host's peer. */
  readonly mainPad: string;
  readonly poolMaxBytes: number;
  /** Size of each installed pad (a multiple of 32). */
  readonly installSize: number;
  /** Packages from the peer to unpackage, in order (new ones and replays of old ones). */
  readonly packages: readonly { readonly id: number; readonly hex: string }[];
  /** Run only the checker, then stop. */
  readonly checkOnly?: boolean;
}

/** One pad as the checker found it after recovery. */
export interface PadFact {
  readonly padId: string;
  readonly contact: string;
  readonly side: 'A' | 'B';
  readonly size: number;
  readonly split: number;
  readonly cursor: number;
  /** The index (key slot) of this side's next message. */
  readonly sendIndex: number;
  readonly state: 'active' | 'exhausted' | 'retired';
  /** Size of the pad file, null when it is missing. */
  readonly fileSize: number | null;
  /** SHA-256 of the pad file (not computed for the main pad), null when missing or not computed. */
  readonly sha: string | null;
}

/** The checker's report after a boot. */
export interface CheckRecord {
  readonly t: 'check';
  readonly boot: number;
  readonly ok: boolean;
  readonly error?: string;
  /** pads/ as the power cut left it, before recovery. */
  readonly before: { readonly pads: readonly string[]; readonly tmp: readonly string[] };
  /** PRAGMA integrity_check of the ledger. */
  readonly integrity: string;
  /** Rows left in the burn queue after recovery. */
  readonly burnQueue: number;
  readonly pads: readonly PadFact[];
  /** Received ranges of the main pad. */
  readonly received: readonly (readonly [number, number])[];
  readonly pool: {
    readonly capacity: number;
    readonly filled: number;
    readonly consumed: number;
    readonly burned: number;
    readonly insecureUntil: number;
  };
  /** pads/ after recovery. */
  readonly after: { readonly pads: readonly string[]; readonly tmp: readonly string[] };
}

/** Every record the guest writes. */
export type GuestRecord =
  | { readonly t: 'ready' }
  | { readonly t: 'hello'; readonly boot: number; readonly rescans?: number }
  | CheckRecord
  | { readonly t: 'go'; readonly boot: number }
  /** A package the engine returned (it left the device). */
  | { readonly t: 'pkg'; readonly hex: string }
  /** The outcome of unpackaging inbox package `id`; `sha` of the plaintext that left the device. */
  | { readonly t: 'recv'; readonly id: number; readonly ok: boolean; readonly sha?: string; readonly code?: string }
  /** A pad install begins (nothing has been drawn yet). */
  | { readonly t: 'install'; readonly padId: string; readonly contact: string }
  /** Pool bytes [start, start + n) were handed out for the install of `padId` (hex: the bytes). */
  | { readonly t: 'draw'; readonly padId: string; readonly start: number; readonly hex: string }
  | { readonly t: 'installed'; readonly padId: string }
  | { readonly t: 'err'; readonly where: string; readonly code: string }
  | { readonly t: 'done' };

/**
 * Parse the port log of one boot: complete JSON lines only (the line cut by the power loss is dropped).
 * @throws never: unparsable lines are returned in `garbage`
 */
export function parseRecords(text: string): { records: GuestRecord[]; garbage: string[] } {
  const records: GuestRecord[] = [];
  const garbage: string[] = [];
  const lines = text.split('\n');
  lines.pop(); // the unterminated tail (empty when the log ends in a newline)
  for (const line of lines) {
    if (line === '') continue;
    try {
      records.push(JSON.parse(line) as GuestRecord);
    } catch {
      garbage.push(line.slice(0, 200));
    }
  }
  return { records, garbage };
}
