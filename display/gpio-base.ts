import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OnepadError } from '../device/errors.js';

/** Labels of the GPIO chip that drives the Pi's 40-pin header: BCM2835/6/7 (Pi 0-3), BCM2711 (Pi 4), RP1 (Pi 5). */
const HEADER_CHIPS = /^pinctrl-(bcm2835|bcm2711|bcm2712|rp1)$/;

/** One gpiochip as sysfs describes it. */
export interface GpioChip {
  readonly name: string;
  readonly label: string;
  readonly base: number;
  readonly ngpio: number;
}

/** List the GPIO chips under a sysfs gpio directory (unreadable entries are skipped). */
export async function listGpioChips(root = '/sys/class/gpio'): Promise<GpioChip[]> {
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => /^gpiochip\d+$/.test(n));
  } catch {
    return [];
  }
  const chips: GpioChip[] = [];
  for (const name of names) {
    try {
      const label = (await readFile(join(root, name, 'label'), 'utf8')).trim();
      const base = Number.parseInt(await readFile(join(root, name, 'base'), 'utf8'), 10);
      const ngpio = Number.parseInt(await readFile(join(root, name, 'ngpio'), 'utf8'), 10);
      if (Number.isInteger(base) && Number.isInteger(ngpio)) chips.push({ name, label, base, ngpio });
    } catch {
      // not a complete chip entry: skip it
    }
  }
  return chips.sort((a, b) => a.base - b.base);
}

/**
 * Find the sysfs GPIO number of BCM 0: the base of the chip driving the 40-pin header. Before kernel 6.6 it was
 * 0; since 6.6 the kernel numbers chips dynamically from 512 (e.g. gpiochip512 on a Pi 4, gpiochip571 for the
 * RP1 on a Pi 5), so it must be read, never assumed.
 *
 * @param root - the sysfs gpio directory (tests pass a fake tree)
 * @throws OnepadError INPUT_UNAVAILABLE when no chip of the header is found
 */
export async function findGpioBase(root = '/sys/class/gpio'): Promise<number> {
  const chips = await listGpioChips(root);
  const header = chips.find((c) => HEADER_CHIPS.test(c.label));
  if (header) return header.base;
  throw new OnepadError(
    'INPUT_UNAVAILABLE',
    { reason: 'gpio-base', chips: chips.length },
    `no Raspberry Pi GPIO chip under ${root}; set display.keys.gpioBase`,
  );
}
