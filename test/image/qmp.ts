/**
 * The shipped boot test's screen and touch through QMP (the client is the power-cut test's, test/powercut/qmp.ts):
 * screendumps read back as raw RGB pixels (PPM), and touch input through `input-send-event` to the tablet bound
 * to one display.
 */
import { readFileSync } from 'node:fs';
import type { Qmp } from '../powercut/qmp.js';

/** A screendump: width, height and RGB bytes, row-major. */
export interface Screendump {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

const isSpace = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Parse a binary PPM (P6, maxval 255), as QEMU's `screendump` writes it. */
export function parsePpm(buf: Uint8Array): Screendump {
  // Header: "P6", width, height, maxval, separated by whitespace (and # comments), then one whitespace byte.
  const fields: string[] = [];
  let i = 0;
  while (fields.length < 4 && i < buf.length) {
    while (isSpace(buf[i])) i++;
    if (buf[i] === 0x23) {
      while (i < buf.length && buf[i] !== 0x0a) i++;
      continue;
    }
    let f = '';
    while (i < buf.length && !isSpace(buf[i])) f += String.fromCharCode(buf[i++] as number);
    fields.push(f);
  }
  i++;
  const [magic, w, h, max] = fields;
  const width = Number(w);
  const height = Number(h);
  if (magic !== 'P6' || max !== '255' || !(width > 0 && height > 0) || buf.length - i < width * height * 3) {
    throw new Error(`not a P6 PPM of 8-bit samples: ${fields.join(' ')}, ${buf.length - i} bytes of pixels`);
  }
  return { width, height, rgb: buf.subarray(i, i + width * height * 3) };
}

/** The guest's screen now, as QEMU's display surface holds it. */
export async function screendump(qmp: Qmp, file: string): Promise<Screendump> {
  await qmp.cmd('screendump', { filename: file });
  return parsePpm(readFileSync(file));
}

/**
 * Move the absolute pointer to raw (x, y) in 0..0x7fff and press or release its left button, as one report.
 * `display` is the id of the display device the tablet is bound to (`-device usb-tablet,display=ID`): QEMU routes
 * the events to that display's input devices.
 */
export async function touch(qmp: Qmp, display: string, x: number, y: number, down: boolean): Promise<void> {
  await qmp.cmd('input-send-event', {
    device: display,
    events: [
      { type: 'abs', data: { axis: 'x', value: x } },
      { type: 'abs', data: { axis: 'y', value: y } },
      { type: 'btn', data: { button: 'left', down } },
    ],
  });
}
