/**
 * The device service: engine, confirmation and link server, from one config; and its orderly stop.
 */
import type { Config } from '../device/config/config.js';
import type { Confirmer } from '../device/confirm.js';
import { DeviceEngine, type PrivateDisplay } from '../device/engine.js';
import { startupStep } from '../device/sd-notify.js';
import { build, type LogStream, listen, type RpcServer } from './server.js';

/** What {@link startDeviceService} needs. */
export interface ServiceOptions {
  readonly config: Config;
  /** Asks the user; on a real device the touchscreen's confirmation service. */
  readonly confirmer: Confirmer;
  /** Shows received plaintext on the device (needed when `confirm.privateReceive` is on). */
  readonly privateDisplay?: PrivateDisplay;
  /** Simulated hardware: a wildcard link address is then allowed. */
  readonly simulated: boolean;
  /** Where the server's pino log lines go. */
  readonly logStream?: LogStream;
  /** Override `link.port` (tests pass 0). */
  readonly port?: number;
}

/** A running device. */
export interface DeviceService {
  readonly address: string;
  readonly port: number;
  readonly server: RpcServer;
  /** The engine the server wraps (for the screen's home view). */
  readonly engine: DeviceEngine;
  /**
   * Stop accepting requests, refuse waiting ones with SHUTTING_DOWN, let the one in service finish (a wait for
   * the user is cut short; a reservation already committed is burned and answered), then close the engine.
   */
  stop(): Promise<void>;
}

/**
 * Open the engine and start the link server on the configured address.
 *
 * @throws OnepadError from the engine's open (DATA_DIR_UNSAFE, LEDGER_SCHEMA_TOO_NEW, CONFIG_INVALID) or from
 *   listening (LINK_ADDRESS_REFUSED); the engine is closed again when listening fails
 */
export async function startDeviceService(opts: ServiceOptions): Promise<DeviceService> {
  startupStep('opening the ledger');
  const engine = DeviceEngine.open({
    config: opts.config,
    confirmer: opts.confirmer,
    ...(opts.privateDisplay ? { privateDisplay: opts.privateDisplay } : {}),
  });
  let server: RpcServer | undefined;
  let bound: { address: string; port: number };
  try {
    startupStep('starting the link server');
    server = build({ engine, config: opts.config, ...(opts.logStream ? { logStream: opts.logStream } : {}) });
    bound = await listen(server, opts.config.link, {
      simulated: opts.simulated,
      ...(opts.port !== undefined ? { port: opts.port } : {}),
    });
  } catch (e) {
    await server?.close();
    engine.close();
    throw e;
  }
  const app = server;
  // The link server queues requests one at a time before the confirmer sees them: tell it how many wait.
  const confirmer = opts.confirmer;
  if (confirmer.waitingOutside) app.rpcQueue.onWaitingChange((n) => confirmer.waitingOutside?.(n));
  let stopping: Promise<void> | null = null;
  return {
    ...bound,
    server: app,
    engine,
    stop() {
      stopping ??= (async () => {
        try {
          await app.close();
        } finally {
          engine.close();
        }
      })();
      return stopping;
    },
  };
}
