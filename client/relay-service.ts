/**
 * A running relay from one config: store opened, server built and bound; and its orderly stop. What
 * `onepad relay` runs, and what the simulator can start in process.
 */
import type { RelayConfig } from './relay-config.js';
import { buildRelay, listenRelay, type RelayServer } from './relay-server.js';
import { RelayStore } from './relay-store.js';

/** A running relay. */
export interface RelayService {
  readonly address: string;
  readonly port: number;
  /** `http://address:port` */
  readonly url: string;
  readonly server: RelayServer;
  readonly store: RelayStore;
  /** Stop accepting, close connections, close the database. */
  stop(): Promise<void>;
}

/**
 * Open the store and start the relay on `config.address`.
 *
 * @param opts.port - override `config.port` (0: any free port)
 * @throws OnepadError STORAGE_FAILED when the database cannot be opened; CONFIG_INVALID when the address is not
 *   an IP address (the store is closed again then)
 */
export async function startRelay(opts: {
  readonly config: RelayConfig;
  readonly logStream?: { write(line: string): unknown };
  readonly port?: number;
  readonly now?: () => number;
}): Promise<RelayService> {
  const store = RelayStore.open(opts.config.dbPath, opts.config);
  let server: RelayServer | undefined;
  try {
    server = buildRelay({
      config: opts.config,
      store,
      ...(opts.logStream ? { logStream: opts.logStream } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
    const bound = await listenRelay(server, opts.config, opts.port ?? opts.config.port);
    const app = server;
    let stopping: Promise<void> | null = null;
    const host = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
    return {
      ...bound,
      url: `http://${host}:${bound.port}`,
      server: app,
      store,
      stop() {
        stopping ??= (async () => {
          try {
            await app.close();
          } finally {
            store.close();
          }
        })();
        return stopping;
      },
    };
  } catch (e) {
    await server?.close();
    store.close();
    throw e;
  }
}
