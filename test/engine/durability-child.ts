/**
 * Child for test/engine/durability.test.ts, run under strace: `durability-child.ts <new data dir>` creates the data
 * dir (two levels deep) and saves an identity in it.
 */
import { prepareDataDir } from '../../device/data-dir.js';
import { writeIdentity } from '../../device/identity.js';

const dir = process.argv[2] as string;
prepareDataDir(dir);
writeIdentity(dir, { name: 'pad-otter', ownerWord: 'lantern' });
