/**
 * Child for test/engine/pad-allocation.test.ts, run under strace: `pad-alloc-child.ts <pads dir>` writes one
 * 1 MiB pad file through PadFileWriter, in two chunks, the second first.
 */
import { PadFileWriter } from '../../device/pad-file.js';

const dir = process.argv[2] as string;
const w = PadFileWriter.create(dir, 'ab'.repeat(16), 1 << 20);
const half = new Uint8Array(1 << 19).fill(0x5a);
w.write(half, 1 << 19);
w.write(half, 0);
w.finish();
