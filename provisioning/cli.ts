/**
 * `onepad pair --config FILE (--initiator | --responder) [--size N] [--auto-approve]`: pair with the device on the
 * cable, showing progress and the fingerprint. Without --auto-approve the operator compares the fingerprint with
 * the other device's and answers on this terminal; --auto-approve is refused unless the device is simulated.
 */
import { createInterface } from 'node:readline/promises';
import { flag, type OptionSpecs, option, parseArgs, sizeOption, stringOption } from '../device/cli/args.js';
import type { Command, CommandGroup } from '../device/cli/command.js';
import { loadConfig } from '../device/config/config.js';
import { OnepadError } from '../device/errors.js';
import { withIdentity } from '../device/identity.js';
import { pairOverLink } from './pair.js';
import type { PairApprover, PairingProgress } from './protocol.js';

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** The CLI's progress line for a pairing's transfer: done and total, share, rate, seconds left. */
export function pairingProgressLine(p: PairingProgress): string {
  const pct = p.total > 0 ? Math.floor((100 * p.bytes) / p.total) : 0;
  return `${mib(p.bytes)} / ${mib(p.total)} (${pct}%), ${mib(p.bytesPerSecond)}/s, ${Math.ceil(p.secondsLeft)} s left`;
}

const PAIR_OPTIONS = {
  config: option('FILE', 'the device config (pairing.interface names the cable)'),
  initiator: flag('this device starts the exchange (give this or --responder)'),
  responder: flag('this device answers the exchange (give this or --initiator)'),
  size: option('N[k|M|G]', 'pad size in bytes (k, M, G: powers of 1024)'),
  'auto-approve': flag('accept the fingerprint without asking (only for a simulated device)'),
} satisfies OptionSpecs;

const pair: Command = {
  name: 'pair',
  usage:
    'pair --config FILE (--initiator | --responder) [--size N[k|M|G]] [--auto-approve]   make a pad with the device on the cable',
  options: PAIR_OPTIONS,
  example: 'pair --config /etc/onepad/config.json --initiator --size 64M',
  async run(ctx) {
    const args = parseArgs(ctx.argv, PAIR_OPTIONS);
    const initiator = args.options.has('initiator');
    if (initiator === args.options.has('responder')) {
      throw new OnepadError(
        'INVALID_ARGUMENT',
        { option: 'initiator' },
        'give exactly one of --initiator or --responder',
      );
    }
    const config = withIdentity(loadConfig(stringOption(args, 'config')));
    const auto = args.options.has('auto-approve');
    if (auto && !config.device.simulated) throw new OnepadError('INSECURE_REFUSED', { option: 'auto-approve' });
    const approver: PairApprover = auto
      ? { approvePairing: async () => 'approved' }
      : {
          async approvePairing(req, signal) {
            const rl = createInterface({ input: process.stdin, output: ctx.stderr });
            try {
              const answer = await rl.question(
                `\nPad with ${req.peer}: ${mib(req.size)}${req.insecure ? ' (INSECURE)' : ''}\nFingerprint: ${req.fingerprint}\nDoes the other device show the same fingerprint? [y/N] `,
                { signal },
              );
              return /^y(es)?$/i.test(answer.trim()) ? 'approved' : 'denied';
            } catch {
              return 'timeout';
            } finally {
              rl.close();
            }
          },
        };
    ctx.stderr.write(
      `${initiator ? 'waiting for' : 'looking for'} the other device on ${config.pairing.interface}...\n`,
    );
    // A progress line still open (no newline yet) is ended before anything else is printed: a stopped or failed
    // transfer's error message then starts a line of its own.
    let lineOpen = false;
    const endLine = () => {
      if (lineOpen) ctx.stderr.write('\n');
      lineOpen = false;
    };
    const result = await pairOverLink({
      config,
      role: initiator ? 'initiator' : 'responder',
      approver,
      size: args.options.has('size') ? sizeOption(args, 'size') : undefined,
      signal: ctx.signal,
      onConnected: () => ctx.stderr.write('connected\n'),
      onProgress: (p) => {
        if (p.phase === 'transfer') {
          ctx.stderr.write(`\r${pairingProgressLine(p)}   `);
          lineOpen = true;
          if (p.bytes === p.total) endLine();
        }
      },
    }).finally(endLine);
    ctx.stdout.write(
      `${JSON.stringify({ padId: result.padId, contact: result.contact, side: result.side, size: result.size, fingerprint: result.fingerprint, insecure: result.insecure })}\n`,
    );
    return 0;
  },
};

export const pairingCommands: CommandGroup = { name: '', topLevel: true, commands: [pair] };
