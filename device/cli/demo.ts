/**
 * `onepad demo`: the pad engine end to end on this machine, with a seeded (INSECURE) pad: two data dirs, a pad
 * pair, messages both ways, a replay and a forgery refused. Prints what happens; exits 0.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/config.js';
import { autoApprove } from '../confirm.js';
import { DeviceEngine } from '../engine.js';
import { OnepadError } from '../errors.js';
import { createPadPair } from '../pad-pair.js';
import { parseArgs } from './args.js';
import type { Command } from './command.js';

export const demoCommand: Command = {
  name: 'demo',
  usage: 'demo   run the pad engine end to end with a seeded, INSECURE pad in a temporary dir',
  options: {},
  example: 'demo',
  async run(ctx) {
    parseArgs(ctx.argv, {});
    const out = (s: string) => ctx.stdout.write(`${s}\n`);
    const root = mkdtempSync(join(tmpdir(), 'onepad-demo-'));
    try {
      const dirA = join(root, 'alice');
      const dirB = join(root, 'bob');
      const { padId } = createPadPair({
        dirA,
        dirB,
        nameA: 'alice',
        nameB: 'bob',
        size: 1 << 20,
        source: { kind: 'seeded', seed: 'demo' },
      });
      out(`INSECURE demo: a seeded 1 MiB pad ${padId} shared by alice (side A) and bob (side B)`);
      const open = (dataDir: string, name: string) =>
        DeviceEngine.open({
          config: parseConfig({ dataDir, device: { name, simulated: true } }),
          confirmer: autoApprove,
        });
      const alice = open(dirA, 'alice');
      const bob = open(dirB, 'bob');
      try {
        const msg = 'meet me at the usual place at nine';
        const p = await alice.package('bob', new TextEncoder().encode(msg));
        out(
          `alice -> bob: ${msg.length} bytes, package ${p.package.length} bytes, pad cost ${p.cost} (One Time Chat: ${2 * msg.length + 48})`,
        );
        out(`  package: ${Buffer.from(p.package).toString('base64')}`);
        const r = await bob.unpackage(p.package);
        out(`bob reads from ${r.contact}: ${new TextDecoder().decode(r.plaintext ?? new Uint8Array())}`);
        const back = await bob.package('alice', new TextEncoder().encode('see you there'));
        out(
          `bob -> alice: decrypted as "${new TextDecoder().decode((await alice.unpackage(back.package)).plaintext ?? new Uint8Array())}"`,
        );
        const p2 = await alice.package('bob', new TextEncoder().encode('bring the map'));
        const forged = p2.package.slice();
        forged[35] = (forged[35] as number) ^ 1;
        const attempts: [string, DeviceEngine, Uint8Array][] = [
          ['bob gets the first package again', bob, p.package],
          ['bob gets a package with one ciphertext bit flipped', bob, forged],
          ['alice gets her own package sent back to her', alice, p.package],
        ];
        for (const [label, target, bytes] of attempts) {
          try {
            await target.unpackage(bytes);
            out(`${label}: ACCEPTED (this is a bug)`);
            return 1;
          } catch (e) {
            if (!(e instanceof OnepadError)) throw e;
            out(`${label}: refused with ${e.code}`);
          }
        }
        out(
          `bob then gets the genuine package: "${new TextDecoder().decode((await bob.unpackage(p2.package)).plaintext ?? new Uint8Array())}"`,
        );
        out(
          `alice has ${alice.pads()[0]?.remaining} bytes of pad left for bob (~${alice.pads()[0]?.messagesLeft} messages)`,
        );
      } finally {
        alice.close();
        bob.close();
      }
      return 0;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
