/**
 * `onepad device`: runs the device service (engine, confirmation screen, link server). The composition root wires
 * it: device/service/commands.ts passes the screen factory (screen-factory.ts) that also hosts the filler and
 * pairing.
 */

import { startDeviceService } from '../../rpc/service.js';
import { aborted } from '../cli/aborted.js';
import { flag, type OptionSpecs, option, parseArgs, stringOption } from '../cli/args.js';
import type { Command } from '../cli/command.js';
import { reportError } from '../cli/report-error.js';
import { type Config, loadConfig } from '../config/config.js';
import { autoApprove, type Confirmer } from '../confirm.js';
import type { DeviceEngine, PrivateDisplay } from '../engine.js';
import { OnepadError } from '../errors.js';
import { notifyReady, notifyStopping, startupStep } from '../sd-notify.js';

/** A confirmation screen for the device: the touchscreen, or the simulated screen. */
export interface Screen {
  readonly confirmer: Confirmer;
  /** Shows received plaintext on the screen (private receive). */
  readonly privateDisplay?: PrivateDisplay;
  /** Called once the engine is open, so the screen can show contacts and warnings. */
  attachEngine?(engine: DeviceEngine): void;
  close(): Promise<void> | void;
}

/**
 * Opens the device's screen: screen-factory.ts's openHostedScreen, passed to {@link deviceCommand}.
 * `hardware` is `simulated` for `--sim`. `signal` is the command's stop: a factory that waits for its owner
 * (first-boot setup) returns once it aborts.
 */
export type ScreenFactory = (config: Config, hardware: 'simulated' | 'device', signal?: AbortSignal) => Promise<Screen>;

/**
 * Choose the confirmation for the device. `--auto-approve` is only for a simulated, insecure device; otherwise
 * the screen from `screen` asks the user.
 *
 * @throws OnepadError INSECURE_REFUSED for `--auto-approve` on anything but `--sim` with `device.simulated`;
 *   NO_CONFIRMER when there is no screen factory for the chosen hardware
 */
export async function chooseScreen(opts: {
  readonly sim: boolean;
  readonly autoApprove: boolean;
  readonly config: Config;
  readonly screen?: ScreenFactory | undefined;
  readonly signal?: AbortSignal;
}): Promise<Screen> {
  if (opts.autoApprove) {
    if (!opts.sim || !opts.config.device.simulated) {
      throw new OnepadError(
        'INSECURE_REFUSED',
        { option: 'auto-approve' },
        '--auto-approve needs --sim and device.simulated: true',
      );
    }
    return { confirmer: autoApprove, close: () => undefined };
  }
  if (!opts.screen) {
    throw new OnepadError(
      'NO_CONFIRMER',
      { hardware: opts.sim ? 'simulated' : 'device' },
      opts.sim ? 'the simulated screen is not available; use --auto-approve' : 'the touchscreen is not available',
    );
  }
  return opts.screen(opts.config, opts.sim ? 'simulated' : 'device', opts.signal);
}

const DEVICE_OPTIONS = {
  config: option('FILE', 'the device config (JSON, docs/RPC.md)'),
  sim: flag('simulated hardware: the screen is served as a page on loopback'),
  'auto-approve': flag('approve every request without a screen (only with --sim and device.simulated: INSECURE)'),
  port: option('N', 'listen on this port instead of link.port (0: any free port)'),
} satisfies OptionSpecs;

/**
 * `onepad device`: the engine, its confirmation (the screen from `screenFactory`; without one only
 * `--sim --auto-approve` runs) and the link server, until the command's signal aborts.
 */
export function deviceCommand(screenFactory?: ScreenFactory): Command {
  return {
    name: 'device',
    usage:
      'device --config FILE [--sim] [--auto-approve] [--port N]   run the device: engine, confirmation, link server',
    options: DEVICE_OPTIONS,
    example: 'device --config /etc/onepad/config.json',
    async run(ctx) {
      let screen: Screen | undefined;
      try {
        const args = parseArgs(ctx.argv, DEVICE_OPTIONS);
        const config = loadConfig(stringOption(args, 'config'));
        startupStep('opening the screen');
        const sim = args.options.get('sim') === true;
        const portArg = args.options.get('port');
        const port = typeof portArg === 'string' ? Number(portArg) : undefined;
        if (port !== undefined && (!/^\d+$/.test(portArg as string) || port > 65535)) {
          throw new OnepadError('INVALID_ARGUMENT', { option: 'port' }, '--port must be 0..65535');
        }
        screen = await chooseScreen({
          sim,
          autoApprove: args.options.get('auto-approve') === true,
          config,
          screen: screenFactory,
          signal: ctx.signal,
        });
        // Stopped while the screen waited for its owner (first-boot setup): nothing was started.
        if (ctx.signal.aborted) return 0;
        const service = await startDeviceService({
          config,
          confirmer: screen.confirmer,
          ...(screen.privateDisplay ? { privateDisplay: screen.privateDisplay } : {}),
          simulated: sim && config.device.simulated,
          logStream: ctx.stdout,
          ...(port !== undefined ? { port } : {}),
        });
        startupStep('starting the filler');
        screen.attachEngine?.(service.engine);
        notifyReady('serving the link');
        service.server.log.info({ address: service.address, port: service.port }, 'device ready');
        await aborted(ctx.signal);
        notifyStopping();
        service.server.log.info('stopping');
        await service.stop();
        return 0;
      } catch (e) {
        return reportError(ctx.stderr, e);
      } finally {
        await screen?.close();
      }
    },
  };
}
