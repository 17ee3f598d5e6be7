/**
 * Disk helpers for the boot test: read the image's partition table (sfdisk), copy partitions out with dd,
 * read files from the FAT boot partition (mtools) and write the test overlay into a copy of the ext4 root
 * partition (debugfs). No loop devices and no mounts.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One partition of an MBR image, in 512-byte sectors. */
export interface Partition {
  readonly start: number;
  readonly size: number;
  readonly type: string;
}

/** The partitions of a disk image. */
export function partitions(image: string): Partition[] {
  const table = JSON.parse(execFileSync('sfdisk', ['-J', image], { encoding: 'utf8' })) as {
    partitiontable: { partitions: Partition[] };
  };
  return table.partitiontable.partitions;
}

/** Copy one partition out of `image` into `dest` (sparse). */
export function extractPartition(image: string, p: Partition, dest: string): void {
  execFileSync('dd', [
    `if=${image}`,
    `of=${dest}`,
    'bs=4M',
    `skip=${p.start * 512}`,
    `count=${p.size * 512}`,
    'iflag=skip_bytes,count_bytes,fullblock',
    'conv=sparse',
    'status=none',
  ]);
}

/** Copy `names` from the root of a FAT image into `destDir`. */
export function copyFromFat(fat: string, names: readonly string[], destDir: string): void {
  execFileSync('mcopy', ['-i', fat, '-n', ...names.map((n) => `::${n}`), destDir], {
    env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
  });
}

/** Read a file from an ext4 image. */
export function readExt4(ext4: string, path: string): string {
  return execFileSync('debugfs', ['-R', `cat ${path}`, ext4], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

/** A file to put into the ext4 image: content, or a host file to copy. */
export interface OverlayFile {
  readonly path: string;
  readonly content?: string;
  readonly from?: string;
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
}

/** A directory to create in the ext4 image (parents must exist or come earlier). */
export interface OverlayDir {
  readonly path: string;
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
}

/** A symlink to create in the ext4 image. */
export interface OverlayLink {
  readonly path: string;
  readonly target: string;
}

/**
 * Write directories, files and links into an ext4 image with one `debugfs -w` run, then check them.
 *
 * @throws Error when debugfs fails or a written file is missing afterwards
 */
export function writeExt4(
  ext4: string,
  work: string,
  o: { dirs: readonly OverlayDir[]; files: readonly OverlayFile[]; links: readonly OverlayLink[] },
): void {
  const cmds: string[] = [];
  const owner = (path: string, mode: number, uid = 0, gid = 0) => {
    cmds.push(`sif ${path} mode 0${mode.toString(8)}`, `sif ${path} uid ${uid}`, `sif ${path} gid ${gid}`);
  };
  for (const d of o.dirs) {
    cmds.push(`mkdir ${d.path}`);
    owner(d.path, 0o040000 | d.mode, d.uid, d.gid);
  }
  o.files.forEach((f, i) => {
    let src = f.from;
    if (src === undefined) {
      src = join(work, `overlay-${i}`);
      writeFileSync(src, f.content ?? '');
    }
    cmds.push(`rm ${f.path}`, `write ${src} ${f.path}`);
    owner(f.path, 0o100000 | f.mode, f.uid, f.gid);
  });
  for (const l of o.links) cmds.push(`symlink ${l.path} ${l.target}`);
  const script = join(work, 'debugfs.cmds');
  writeFileSync(script, `${cmds.join('\n')}\n`);
  execFileSync('debugfs', ['-w', '-f', script, ext4], { stdio: ['ignore', 'ignore', 'pipe'] });
  for (const f of o.files) {
    const out = execFileSync('debugfs', ['-R', `stat ${f.path}`, ext4], { encoding: 'utf8', stdio: 'pipe' });
    if (!/Type: regular/.test(out)) throw new Error(`debugfs did not write ${f.path}`);
  }
}

/** Every regular file and directory below `root`, relative paths, parents first. */
export function walk(root: string, rel = ''): { rel: string; dir: boolean }[] {
  const out: { rel: string; dir: boolean }[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = statSync(join(root, r));
    if (st.isDirectory()) out.push({ rel: r, dir: true }, ...walk(root, r));
    else if (st.isFile()) out.push({ rel: r, dir: false });
  }
  return out;
}
