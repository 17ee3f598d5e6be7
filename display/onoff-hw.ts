import type { InputPin, InputPins, Level } from './hw.js';

/** The part of onoff's Gpio used here. */
interface OnoffGpio {
  readSync(): Level;
  watch(cb: (err: Error | null | undefined, value: Level) => void): void;
  unexport(): void;
}

/**
 * Input pins through onoff (sysfs GPIO). `base` is the sysfs number of BCM 0 (see findGpioBase). Loaded only on
 * a Pi. Levels are raw (the keys are active-low: 0 = pressed); debouncing is done by GpioKeys.
 * @throws Error when onoff cannot be loaded or a pin cannot be exported
 */
export async function openOnoffInputs(base: number): Promise<InputPins> {
  const name = 'onoff';
  const mod = (await import(name)) as {
    Gpio: new (gpio: number, direction: 'in', edge: 'both') => OnoffGpio;
  };
  return {
    open(pin: number): InputPin {
      const gpio = new mod.Gpio(base + pin, 'in', 'both');
      return {
        read: () => gpio.readSync(),
        watch(cb) {
          gpio.watch((err, value) => {
            if (!err) cb(value);
          });
        },
        close: () => gpio.unexport(),
      };
    },
  };
}
