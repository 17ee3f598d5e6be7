/**
 * `burn-child.ts <padsDir> <stepBytes>`: burn the abandoned files of a pads dir, printing `progress <bytes>
 * <total> <left of the file being burned>` after every step; a test SIGKILLs it mid-burn.
 */
import { burnAbandoned, listBurning } from '../../device/pad-burner.js';

const [dir, step] = process.argv.slice(2) as [string, string];
await burnAbandoned(dir, {
  stepBytes: Number(step),
  onProgress: (p) => {
    const left = listBurning(dir)[0]?.left ?? 0;
    process.stdout.write(`progress ${p.bytes} ${p.total} ${left}\n`);
  },
});
process.stdout.write('done\n');
