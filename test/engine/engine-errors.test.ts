/**
 * Engine and storage error paths with bad input: each gets its own stable code.
 */
import { mkdirSync, symlinkSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { prepareDataDir } from '../../device/data-dir.js';
import { DeviceEngine } from '../../device/engine.js';
import { padFilePath } from '../../device/pad-file.js';
import { createPadPair } from '../../device/pad-pair.js';
import { makePair, type Pair, ScriptedConfirmer, utf8 } from '../helpers/engine-fixture.js';

let pair: Pair | undefined;
afterEach(() => pair?.cleanup());

describe('engine error paths', () => {
  it('CONTACT_EXISTS: a second active pad for the same contact is refused, and its file burned', () => {
    pair = makePair(4096);
    expect(() =>
      createPadPair({
        dirA: pair!.dirA,
        dirB: pair!.dirB,
        nameA: 'alice',
        nameB: 'bob',
        size: 4096,
        source: { kind: 'seeded', seed: 'again' },
      }),
    ).toThrow(expect.objectContaining({ code: 'CONTACT_EXISTS' }));
    expect(pair.openA().pads()).toHaveLength(1);
  });

  it('DATA_DIR_UNSAFE: a data dir that is a symlink is refused', () => {
    pair = makePair(4096);
    const real = join(pair.root, 'real');
    mkdirSync(real);
    const link = join(pair.root, 'link');
    symlinkSync(real, link);
    expect(() => prepareDataDir(link)).toThrow(expect.objectContaining({ code: 'DATA_DIR_UNSAFE' }));
    expect(() =>
      DeviceEngine.open({ config: parseConfig({ dataDir: link }), confirmer: new ScriptedConfirmer() }),
    ).toThrow(expect.objectContaining({ code: 'DATA_DIR_UNSAFE' }));
  });

  it('PAD_FILE_INVALID: a pad file whose size disagrees with the ledger is not used', async () => {
    pair = makePair(4096);
    truncateSync(padFilePath(join(pair.dirA, 'pads'), pair.padId), 100);
    const a = pair.openA();
    await expect(a.package('bob', utf8('x'))).rejects.toMatchObject({ code: 'PAD_FILE_INVALID' });
    // Nothing was reserved: no key slot, and the stream cursor still at the start of A's stream area.
    const pad = a.pads()[0]!;
    expect(pad).toMatchObject({ sendIndex: 0, cursor: 32 * pad.keySlotsA });
  });

  it('SHUTTING_DOWN: a closed engine refuses work, and a wait for the user is cut short', async () => {
    pair = makePair(4096);
    const aborting = {
      confirm: (_req: unknown, signal?: AbortSignal) =>
        new Promise<'timeout'>((resolve) =>
          signal?.addEventListener('abort', () => resolve('timeout'), { once: true }),
        ),
    };
    const a = pair.openA({ confirmer: aborting });
    const p = a.package('bob', utf8('never'));
    a.close();
    await expect(p).rejects.toMatchObject({ code: 'CONFIRM_TIMEOUT' });
    await expect(a.package('bob', utf8('x'))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    await expect(a.unpackage(new Uint8Array(60))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});
