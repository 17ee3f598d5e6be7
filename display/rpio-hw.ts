import type { Level, OutputPins, Spi } from './hw.js';

/** The part of rpio used here (rpio ships no types). */
interface Rpio {
  init(o: { gpiomem: boolean; mapping: 'gpio' | 'physical' }): void;
  open(pin: number, mode: number, init?: number): void;
  close(pin: number): void;
  write(pin: number, value: number): void;
  spiBegin(): void;
  spiChipSelect(cs: number): void;
  spiSetCSPolarity(cs: number, active: number): void;
  spiSetClockDivider(div: number): void;
  spiSetDataMode(mode: number): void;
  spiWrite(buf: Buffer, len: number): void;
  spiEnd(): void;
  OUTPUT: number;
  LOW: number;
  HIGH: number;
}

/**
 * Open SPI0 and output pins through rpio (BCM numbering, /dev/mem: run as root on a Pi). Loaded only on a Pi:
 * importing rpio elsewhere fails.
 * @throws Error when rpio cannot be loaded or initialised
 */
export async function openRpio(chipSelect: number, clockDivider: number): Promise<{ spi: Spi; pins: OutputPins }> {
  const name = 'rpio';
  const mod = (await import(name)) as { default?: Rpio } & Rpio;
  const rpio: Rpio = mod.default ?? mod;
  rpio.init({ gpiomem: false, mapping: 'gpio' });
  rpio.spiBegin();
  rpio.spiChipSelect(chipSelect);
  rpio.spiSetCSPolarity(chipSelect, rpio.LOW);
  rpio.spiSetClockDivider(clockDivider);
  rpio.spiSetDataMode(0);
  const opened = new Set<number>();
  const spi: Spi = {
    write(data) {
      rpio.spiWrite(Buffer.from(data.buffer, data.byteOffset, data.byteLength), data.byteLength);
    },
    close() {
      rpio.spiEnd();
    },
  };
  const pins: OutputPins = {
    setup(pin) {
      rpio.open(pin, rpio.OUTPUT, rpio.LOW);
      opened.add(pin);
    },
    write(pin, level: Level) {
      rpio.write(pin, level ? rpio.HIGH : rpio.LOW);
    },
    close() {
      for (const pin of opened) rpio.close(pin);
      opened.clear();
    },
  };
  return { spi, pins };
}
