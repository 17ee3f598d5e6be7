/**
 * Installing a new pad into a data dir: the pad file first (complete and synced), then its ledger row. A crash in
 * between leaves a file with no row, which start-up recovery burns and removes.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { engineSectionSchema } from './config/engine-section.js';
import { prepareDataDir } from './data-dir.js';
import { OnepadError } from './errors.js';
import type { EventLog } from './events.js';
import { checkLayout, type PadLayout, planLayout } from './layout.js';
import type { Ledger } from './ledger/ledger.js';
import { abandonPadFile, writePadFile } from './pad-file.js';
import type { Side } from './wire.js';

/** The message length a pad's key areas are sized for when none is given: the config's default. */
export const DEFAULT_TYPICAL_LENGTH: number = engineSectionSchema.properties.typicalMessageLength.default;

/** A pad to install. */
export interface PadSpec {
  /** 32 hex digits. */
  readonly padId: string;
  readonly contact: string;
  readonly side: Side;
  readonly size: number;
  /** True when the pad's bytes did not come from health-tested hardware randomness. */
  readonly insecure: boolean;
  /** The key slots of each side (device/layout.ts); when absent, {@link planLayout} for `typicalLength`. Both
   * devices of a pad must install the same layout. */
  readonly keySlots?: { readonly a: number; readonly b: number };
  /** The message length the key areas are sized for (default {@link DEFAULT_TYPICAL_LENGTH}). */
  readonly typicalLength?: number;
}

/** The layout a spec asks for.
 * @throws OnepadError INVALID_ARGUMENT when it does not fit the pad */
export function layoutOf(spec: PadSpec): PadLayout {
  if (!spec.keySlots) return planLayout(spec.size, spec.typicalLength ?? DEFAULT_TYPICAL_LENGTH);
  const layout = {
    size: spec.size,
    split: Math.floor(spec.size / 2),
    keySlotsA: spec.keySlots.a,
    keySlotsB: spec.keySlots.b,
  };
  checkLayout(layout);
  return layout;
}

/** The smallest pad worth having: room for one 1-byte message on each side. */
export const MIN_PAD_SIZE = 2 * 33;

/** A fresh random 16-byte pad id, as hex. */
export function newPadId(): string {
  return bytesToHex(randomBytes(16));
}

/**
 * Write a pad file and add its ledger row with its v2 layout (split = floor(size / 2), key areas from
 * {@link layoutOf}); the cursor starts at this side's end of its stream area.
 *
 * @param fill - fills successive chunks of the pad at the given offsets
 * @throws OnepadError INVALID_ARGUMENT (bad id or size), CONTACT_EXISTS
 */
export function installPad(
  dataDir: string,
  ledger: Ledger,
  events: EventLog | null,
  spec: PadSpec,
  fill: (chunk: Uint8Array, offset: number) => void,
  now: () => number = Date.now,
): void {
  if (!/^[0-9a-f]{32}$/.test(spec.padId))
    throw new OnepadError('INVALID_ARGUMENT', { argument: 'padId' }, 'pad id must be 32 hex digits');
  if (!Number.isSafeInteger(spec.size) || spec.size < MIN_PAD_SIZE) {
    throw new OnepadError(
      'INVALID_ARGUMENT',
      { argument: 'size', min: MIN_PAD_SIZE },
      `pad size must be at least ${MIN_PAD_SIZE}`,
    );
  }
  layoutOf(spec);
  if (ledger.activePad(spec.contact)) throw new OnepadError('CONTACT_EXISTS', { contact: spec.contact });
  const layout = prepareDataDir(dataDir);
  const path = writePadFile(layout.pads, spec.padId, spec.size, fill);
  registerPadFile(ledger, events, spec, path, now);
}

/**
 * Add the ledger row of a pad whose file is complete, synced and in place; on failure the file is burned.
 * @throws OnepadError CONTACT_EXISTS, INVALID_ARGUMENT (a layout that does not fit)
 */
export function registerPadFile(
  ledger: Ledger,
  events: EventLog | null,
  spec: PadSpec,
  path: string,
  now: () => number = Date.now,
): void {
  let layout: PadLayout;
  try {
    layout = layoutOf(spec);
    ledger.insertPad({
      padId: spec.padId,
      contact: spec.contact,
      side: spec.side,
      ...layout,
      insecure: spec.insecure,
      createdAt: now(),
    });
  } catch (e) {
    abandonPadFile(path);
    throw e;
  }
  events?.record('PAD_CREATED', spec.padId, {
    size: spec.size,
    side: spec.side,
    insecure: spec.insecure,
    keySlotsA: layout.keySlotsA,
    keySlotsB: layout.keySlotsB,
  });
}
