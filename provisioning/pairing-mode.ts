/**
 * Pairing mode: on the image, the firewall lets pairing traffic onto the cable only while the device service asks
 * for it (systemd/nftables.conf). The service asks by writing its request file (`pairing.modeRequest`,
 * /run/onepad/pairing-request on the image), which onepad-pairing.path watches: `open` opens pairing mode for a
 * bounded window (systemd/pairing-open.nft; each renewal restarts it), `close` closes it at once, and so does the
 * file disappearing with the service's runtime directory. The unprivileged service can ask for nothing else.
 *
 * Every request is written again a few times after it ({@link RESEND_MS}): systemd drops a change of a
 * PathModified= path made while the unit it triggers is still running (from the helper's last read of the file
 * until systemd has seen the run end; systemd/systemd#5770), so a `close` written just then was lost and pairing
 * mode stayed open, the laptop cut off, until the window ran out (seen in the two-device boot test under TCG). A
 * later copy of the same request starts the helper again once that run has ended.
 */
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { OnepadError } from '../device/errors.js';
import type { PairingConfig } from './config-section.js';

/** What a pairing asks of the system around it. */
export interface PairingMode {
  /**
   * Ask for pairing mode, and keep asking (renewing the window) until {@link close}.
   * @throws OnepadError PAIRING_MODE_FAILED when the request cannot be written
   */
  open(): void;
  /** Ask for pairing mode to end. Never throws: the firewall's window closes it regardless. */
  close(): void;
}

/** Nothing to ask: no firewall stands between the pairing and the cable (tests, a laptop). */
export const noPairingMode: PairingMode = Object.freeze({ open() {}, close() {} });

/** How often an open request is renewed; well inside the 5-minute window of pairing-open.nft. */
export const RENEW_MS = 60_000;

/**
 * After each request, the same request again this long after it (until the next request): a copy written once
 * the helper's run has ended starts it again, so a change systemd dropped is applied within about this long.
 */
export const RESEND_MS: readonly number[] = [5_000, 15_000, 30_000, 60_000, 120_000];

/**
 * Pairing mode requested through a file: its whole content is `open\n` or `close\n`, replaced atomically (written
 * beside it, then renamed) and readable by group onepad (mode 0640), which the mode helper runs in.
 */
export function requestFilePairingMode(
  path: string,
  renewMs = RENEW_MS,
  resendMs: readonly number[] = RESEND_MS,
): PairingMode {
  let timer: NodeJS.Timeout | undefined;
  let resends: NodeJS.Timeout[] = [];
  const write = (what: 'open' | 'close') => {
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, `${what}\n`, { mode: 0o640 });
    // The service's UMask (0077) masks the mode given to writeFileSync.
    chmodSync(tmp, 0o640);
    renameSync(tmp, path);
  };
  // The last request again at each of resendMs; a new request cancels the copies of the one before.
  const resend = (what: 'open' | 'close') => {
    for (const t of resends) clearTimeout(t);
    resends = resendMs.map((ms) => {
      const t = setTimeout(() => {
        try {
          write(what);
        } catch {
          // As a failed renewal: the window closes by itself.
        }
      }, ms);
      t.unref();
      return t;
    });
  };
  return {
    open() {
      try {
        write('open');
      } catch (e) {
        throw new OnepadError(
          'PAIRING_MODE_FAILED',
          { reason: (e as NodeJS.ErrnoException).code ?? 'write' },
          'cannot write the pairing-mode request',
        );
      }
      resend('open');
      clearInterval(timer);
      timer = setInterval(() => {
        try {
          write('open');
        } catch {
          // A failed renewal: the window runs out on its own, the pairing then fails as the cable closes.
        }
      }, renewMs);
      timer.unref();
    },
    close() {
      clearInterval(timer);
      timer = undefined;
      try {
        write('close');
      } catch {
        // The window closes by itself.
      }
      resend('close');
    },
  };
}

/** The pairing mode the config asks for: a request file, or nothing to ask. */
export function pairingModeFor(config: PairingConfig): PairingMode {
  return config.modeRequest === null ? noPairingMode : requestFilePairingMode(config.modeRequest);
}
