/**
 * Lines a test child writes to its parent on stdout, synchronously: each is whole in the pipe before the call
 * returns, so a parent that kills the child after reading a line knows everything before it left. stdout may be a
 * non-blocking pipe that a busy parent reads late: EAGAIN waits a moment and writes the rest (a plain writeSync
 * throws there and the child dies before the test's kill).
 */
import { writeSync } from 'node:fs';

const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/** Write `line` and a newline to fd 1, all of it, waiting out a full pipe. */
export function writeLine(line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(1, bytes, done, bytes.length - done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pauseCell, 0, 0, 2);
    }
  }
}
