import { access } from 'node:fs/promises';
import type { BindingInterface, BindingPortInterface } from '@serialport/bindings-cpp';
import { OnepadError } from '../device/errors.js';
import type { RawSource } from './source.js';

/** The USB serial HRNG profiles onepad knows. */
export type SerialProfile = 'truerng' | 'onerng';

/** What a profile says about its device. */
export interface ProfileSpec {
  /** USB vendor and product id (lowercase hex) used to find the port when no path is configured. */
  readonly vendorId: string;
  readonly productId: string;
  /** Conservative claimed min-entropy per byte, bits. */
  readonly claimedH: number;
  /** Nominal output rate, bytes per second (TrueRNG about 50 KB/s, OneRNG about 40 KB/s). */
  readonly nominalBytesPerSecond: number;
}

/** Profile facts. Claimed entropy is deliberately below what the makers state. */
export const PROFILES: Readonly<Record<SerialProfile, ProfileSpec>> = {
  truerng: { vendorId: '04d8', productId: 'f5fe', claimedH: 4, nominalBytesPerSecond: 50_000 },
  onerng: { vendorId: '1d50', productId: '6086', claimedH: 4, nominalBytesPerSecond: 40_000 },
};

/** OneRNG modes whose output skips the on-board whitener (raw noise): lower claimed entropy by default. */
export const ONERNG_RAW_MODES: readonly number[] = [1, 3, 5, 7];

/** Settings of a serial source. */
export interface SerialSourceOptions {
  readonly profile: SerialProfile;
  /** The port path; when absent the first port with the profile's USB id is used. */
  readonly path?: string;
  /** USB id override, "vvvv:pppp". */
  readonly usbId?: string;
  readonly name?: string;
  readonly claimedH?: number;
  readonly minBytesPerSecond?: number;
  readonly baudRate?: number;
  /** OneRNG noise source and whitener, `cmd0`..`cmd7` (default 0: avalanche noise, whitened). */
  readonly onerngMode?: number;
  /** Largest read (default 4096). */
  readonly chunk?: number;
  /** While a read is pending, how often to check that the device node still exists (default 250 ms). */
  readonly probeMs?: number;
  /** OneRNG: pause between the mode commands and the input flush before `cmdO` (default 200 ms). */
  readonly settleMs?: number;
}

/**
 * A USB HRNG on a serial (CDC-ACM) port, through a serialport binding passed in (`@serialport/bindings-cpp` in
 * production and in the pty tests).
 *
 * - TrueRNG streams while DTR is set: DTR is raised after open. A port without modem lines (a pty) rejects
 *   that; it is recorded as `dtr: 'unsupported'` in {@link SerialSource.info} and the rate watchdog judges
 *   whether bytes flow.
 * - OneRNG is started with `cmdo` (stop), `cmdw` (flush), `cmd<mode>` (noise source and whitener), then after a
 *   short pause the port's input is flushed (stale bytes, maybe from another mode, are never used) and `cmdO`
 *   (start) is sent; on close `cmdo`, `cmdw` stop it.
 */
export class SerialSource implements RawSource {
  readonly name: string;
  readonly kind: SerialProfile;
  readonly insecure = false;
  readonly claimedH: number;
  readonly minBytesPerSecond: number;
  private readonly binding: BindingInterface;
  private readonly opts: SerialSourceOptions;
  private readonly chunk: number;
  private readonly probeMs: number;
  private readonly settleMs: number;
  private port: BindingPortInterface | null = null;
  private closed = false;
  private openedPath = '';
  private dtr: 'set' | 'unsupported' | 'n/a' = 'n/a';

  /** @throws RangeError for a bad OneRNG mode or USB id */
  constructor(binding: BindingInterface, opts: SerialSourceOptions) {
    this.binding = binding;
    this.opts = opts;
    this.kind = opts.profile;
    this.name = opts.name ?? opts.profile;
    const mode = opts.onerngMode ?? 0;
    if (!Number.isInteger(mode) || mode < 0 || mode > 7) throw new RangeError('onerngMode must be 0..7');
    if (opts.usbId !== undefined && !/^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/.test(opts.usbId)) {
      throw new RangeError('usbId must be vvvv:pppp in hex');
    }
    const raw = opts.profile === 'onerng' && ONERNG_RAW_MODES.includes(mode);
    this.claimedH = opts.claimedH ?? (raw ? 2 : PROFILES[opts.profile].claimedH);
    this.minBytesPerSecond = opts.minBytesPerSecond ?? 0;
    this.chunk = opts.chunk ?? 4096;
    this.probeMs = opts.probeMs ?? 250;
    this.settleMs = opts.settleMs ?? 200;
  }

  private async findPath(): Promise<string> {
    if (this.opts.path) return this.opts.path;
    const spec = PROFILES[this.opts.profile];
    const [vid, pid] = (this.opts.usbId ?? `${spec.vendorId}:${spec.productId}`).toLowerCase().split(':');
    let ports: Awaited<ReturnType<BindingInterface['list']>>;
    try {
      ports = await this.binding.list();
    } catch {
      ports = [];
    }
    const hit = ports.find((p) => p.vendorId?.toLowerCase() === vid && p.productId?.toLowerCase() === pid);
    if (!hit) {
      throw new OnepadError(
        'HRNG_SOURCE_UNAVAILABLE',
        { source: this.name, reason: 'not found' },
        `no serial port with USB id ${vid}:${pid}`,
      );
    }
    return hit.path;
  }

  /** @throws OnepadError HRNG_SOURCE_UNAVAILABLE when the port is missing or cannot be opened or started */
  async open(): Promise<void> {
    const path = await this.findPath();
    try {
      this.port = await this.binding.open({ path, baudRate: this.opts.baudRate ?? 115200, lock: true });
    } catch {
      // A configured path with nothing at it is a device not plugged in, not a device that refused.
      const present = await access(path).then(
        () => true,
        () => false,
      );
      throw new OnepadError(
        'HRNG_SOURCE_UNAVAILABLE',
        { source: this.name, reason: present ? 'open failed' : 'not found' },
        `cannot open ${path}`,
      );
    }
    this.openedPath = path;
    try {
      if (this.opts.profile === 'truerng') {
        try {
          await this.port.set({ dtr: true, rts: true });
          this.dtr = 'set';
        } catch {
          this.dtr = 'unsupported';
        }
      } else {
        await this.command('cmdo');
        await this.command('cmdw');
        await this.command(`cmd${this.opts.onerngMode ?? 0}`);
        // Let the device stop and take the commands, then drop whatever it sent before (stale output, possibly
        // from another mode). The flush discards both directions, hence the pause after the drains.
        await new Promise((r) => setTimeout(r, this.settleMs));
        await this.port.flush();
        await this.command('cmdO');
      }
    } catch {
      await this.close();
      throw new OnepadError(
        'HRNG_SOURCE_UNAVAILABLE',
        { source: this.name, reason: 'start failed' },
        `cannot start ${path}`,
      );
    }
  }

  private async command(cmd: string): Promise<void> {
    if (!this.port) return;
    await this.port.write(Buffer.from(cmd, 'ascii'));
    await this.port.drain();
  }

  /** @throws OnepadError HRNG_SOURCE_LOST when the port is gone (unplugged, closed) */
  async read(max: number): Promise<Uint8Array> {
    const port = this.port;
    if (!port || this.closed) throw new OnepadError('HRNG_SOURCE_LOST', { source: this.name, canceled: true });
    const buf = Buffer.alloc(Math.max(1, Math.min(max, this.chunk)));
    // A hung-up tty can answer reads with end of file, which the binding retries without end: while a read is
    // pending, check every probe interval that the device node still exists (it goes when the USB device is
    // unplugged, or when a pty's master closes).
    let probe: NodeJS.Timeout | undefined;
    const gone = new Promise<never>((_, reject) => {
      probe = setInterval(() => {
        access(this.openedPath).catch(() => reject(new Error('device node gone')));
      }, this.probeMs);
    });
    gone.catch(() => {});
    try {
      const { bytesRead } = await Promise.race([port.read(buf, 0, buf.length), gone]);
      return new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
    } catch (e) {
      const canceled = this.closed || (e as { canceled?: boolean }).canceled === true;
      const reason = canceled ? 'closed' : ((e as NodeJS.ErrnoException).code ?? (e as Error).message ?? 'read failed');
      if (!canceled) await this.close();
      throw new OnepadError('HRNG_SOURCE_LOST', { source: this.name, canceled, reason: reason.slice(0, 40) });
    } finally {
      clearInterval(probe);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const port = this.port;
    this.port = null;
    if (!port?.isOpen) return;
    if (this.opts.profile === 'onerng') {
      try {
        await port.write(Buffer.from('cmdo', 'ascii'));
        await port.write(Buffer.from('cmdw', 'ascii'));
        await port.drain();
      } catch {
        // The device may already be gone; closing is all that is left to do.
      }
    }
    await port.close().catch(() => {});
  }

  info(): Readonly<Record<string, string | number | boolean>> {
    const out: Record<string, string | number | boolean> = { kind: this.kind, path: this.openedPath, dtr: this.dtr };
    if (this.opts.profile === 'onerng') out.mode = this.opts.onerngMode ?? 0;
    return out;
  }
}
