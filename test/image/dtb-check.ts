/**
 * Checks on the device trees of a built image's boot partition (for the boot tests): every Pi the docs name is
 * there, and in each the Wi-Fi host (`sdhci`) and the Bluetooth node (`bt`) are disabled by the build's overlay.
 * Needs fdtget (device-tree-compiler).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { copyFromFat } from './disk.js';

/** The device trees image/boot-partition.sh ships (PI_DTBS there). */
export const PI_DTBS = ['bcm2711-rpi-4-b', 'bcm2711-rpi-400', 'bcm2837-rpi-3-b-plus', 'bcm2837-rpi-3-b'] as const;

const get = (dtb: string, node: string, prop: string) =>
  spawnSync('fdtget', ['-t', 's', dtb, node, prop], { encoding: 'utf8' }).stdout.trim();

/** Copy the named trees out of the boot partition into `dir`; returns what is wrong with them ([] when right). */
export function radiosOffProblems(bootVfat: string, dir: string): string[] {
  copyFromFat(
    bootVfat,
    PI_DTBS.map((n) => `${n}.dtb`),
    dir,
  );
  const problems: string[] = [];
  for (const n of PI_DTBS) {
    const f = join(dir, `${n}.dtb`);
    for (const label of ['sdhci', 'bt']) {
      const path = get(f, '/__symbols__', label);
      const status = path ? get(f, path, 'status') : '';
      if (status !== 'disabled') problems.push(`${n}: ${label} is ${status || 'missing'}`);
    }
  }
  return problems;
}
