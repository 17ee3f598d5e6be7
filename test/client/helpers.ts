/**
 * Test helpers for the relay: a relay on a temporary file with an injected clock, and tokens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRelayToken } from '../../client/relay-client.js';
import { parseRelayConfig, type RelayConfig } from '../../client/relay-config.js';
import { buildRelay, type RelayServer } from '../../client/relay-server.js';
import { RelayStore } from '../../client/relay-store.js';

export interface TestRelay {
  readonly dir: string;
  readonly config: RelayConfig;
  store: RelayStore;
  app: RelayServer;
  /** The injected clock (ms). */
  clock: { now: number };
  /** Close and open again on the same file (a restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A relay on a fresh temporary database, with `overrides` on its config and a clock starting at 1e12. */
export function makeRelay(overrides: Record<string, unknown> = {}): TestRelay {
  const dir = mkdtempSync(join(tmpdir(), 'onepad-relay-'));
  const config = parseRelayConfig({ dbPath: join(dir, 'relay.db'), logLevel: 'silent', ...overrides });
  const clock = { now: 1_000_000_000_000 };
  const open = () => {
    const store = RelayStore.open(config.dbPath, config);
    return { store, app: buildRelay({ config, store, now: () => clock.now }) };
  };
  const first = open();
  const relay: TestRelay = {
    dir,
    config,
    store: first.store,
    app: first.app,
    clock,
    async restart() {
      await relay.app.close();
      relay.store.close();
      const next = open();
      relay.store = next.store;
      relay.app = next.app;
    },
    async close() {
      await relay.app.close();
      relay.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return relay;
}

export const tokens = {
  alice: newRelayToken(),
  bob: newRelayToken(),
  carol: newRelayToken(),
  mallory: newRelayToken(),
};

export const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** A fake package of `n` bytes, base64. */
export const pkg = (n: number, fill = 7): string => Buffer.alloc(n, fill).toString('base64');
