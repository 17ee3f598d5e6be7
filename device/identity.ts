/**
 * The device's identity chosen at first boot: its name (what peers call it) and the owner's word (shown in the
 * trusted band of every screen). Kept in the data dir (`identity.json`, mode 0600), because /etc is read-only to
 * the service; it overrides `device.name` and `device.ownerWord` of the config.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config/config.js';
import { OnepadError } from './errors.js';

export interface Identity {
  readonly name: string;
  readonly ownerWord: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}$/;
const WORD_RE = /^[a-z]{1,24}$/;

/** Words the device proposes for its name and its owner's word: short, distinct, easy to read on 240x240. */
export const SETUP_WORDS: readonly string[] = (
  'acorn amber anchor apple arrow aspen badger banjo basil beacon birch bison bramble breeze brook cactus camel ' +
  'canyon cedar cello cherry cider clover cobalt comet copper coral cricket crystal cypress daisy delta dingo ' +
  'dolphin dune eagle ember falcon fennel fern fig finch fjord flint fox garnet gecko ginger glacier granite ' +
  'hazel heron hickory honey iris ivory jackal jade jasmine juniper kayak kelp kestrel kiwi lagoon lantern lark ' +
  'lemon lilac linen lotus lynx magpie mango maple marble meadow mesa mint moss nectar nutmeg oak oasis olive ' +
  'onyx orchid osprey otter owl panda papaya pebble pepper pine plum pollen poppy quartz quill raven reed ' +
  'river robin saffron sage salmon sparrow spruce squid thistle thyme tiger topaz tulip tundra umber valley ' +
  'velvet violet walnut willow wren yarrow zebra zephyr bamboo harbor summit meteor'
).split(' ');

/** Where the identity lives in a data dir. */
export function identityPath(dataDir: string): string {
  return join(dataDir, 'identity.json');
}

/**
 * The identity chosen at first boot, or null when there is none yet.
 * @throws OnepadError CONFIG_INVALID (field identity.json) when the file is there but not a valid identity
 */
export function readIdentity(dataDir: string): Identity | null {
  const path = identityPath(dataDir);
  if (!existsSync(path)) return null;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<Identity>;
    if (
      typeof v.name === 'string' &&
      NAME_RE.test(v.name) &&
      typeof v.ownerWord === 'string' &&
      WORD_RE.test(v.ownerWord)
    ) {
      return { name: v.name, ownerWord: v.ownerWord };
    }
  } catch {
    // fall through
  }
  throw new OnepadError('CONFIG_INVALID', { field: 'identity.json' }, 'identity.json is not a valid identity');
}

/**
 * Save the identity atomically and durably: a temporary file (mode 0600) written and fsynced, renamed into place,
 * then the data dir fsynced so the rename itself survives power loss.
 * @throws OnepadError INVALID_ARGUMENT for a name or word of the wrong form
 */
export function writeIdentity(dataDir: string, id: Identity): void {
  if (!NAME_RE.test(id.name)) throw new OnepadError('INVALID_ARGUMENT', { argument: 'name' }, 'bad device name');
  if (!WORD_RE.test(id.ownerWord)) throw new OnepadError('INVALID_ARGUMENT', { argument: 'ownerWord' }, 'bad word');
  const path = identityPath(dataDir);
  const fd = openSync(`${path}.tmp`, 'w', 0o600);
  try {
    const bytes = Buffer.from(`${JSON.stringify({ name: id.name, ownerWord: id.ownerWord })}\n`);
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${path}.tmp`, path);
  const dir = openSync(dataDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** First boot: no identity saved yet and none configured (the config's owner's word is empty). */
export function needsSetup(config: Config): boolean {
  return config.device.ownerWord === '' && readIdentity(config.dataDir) === null;
}

/** The config with the saved identity (if any) in place of `device.name` and `device.ownerWord`; frozen. */
export function withIdentity(config: Config): Config {
  const id = readIdentity(config.dataDir);
  if (!id) return config;
  const device = Object.freeze({ ...config.device, name: id.name, ownerWord: id.ownerWord });
  return Object.freeze({ ...config, device });
}
