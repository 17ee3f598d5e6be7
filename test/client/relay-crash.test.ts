/**
 * The relay survives a SIGKILL mid-stream: every send it answered is still there when it opens again.
 * Also: it binds to the address it is given, and only there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRelayConfig } from '../../client/relay-config.js';
import { buildRelay, listenRelay } from '../../client/relay-server.js';
import { RelayStore } from '../../client/relay-store.js';
import { runAndKill } from '../helpers/child.js';

describe('relay crash and binding', () => {
  it('keeps every answered send after SIGKILL of the relay process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-relay-crash-'));
    try {
      const db = join(dir, 'relay.db');
      const { lines } = await runAndKill('test/client/relay-child.ts', [db], 1500);
      const sent = lines
        .filter((l) => l.startsWith('sent '))
        .map((l) => l.split(' ').map(Number) as [number, number, number]);
      expect(sent.length).toBeGreaterThan(3);
      const config = parseRelayConfig({ dbPath: db });
      const store = RelayStore.open(db, config);
      try {
        const held = store.fetch('bob', 0, 1_000_000, 0);
        const byRef = new Map(held.map((m) => [m.ref, m]));
        for (const [, ref, i] of sent) {
          const m = byRef.get(ref);
          expect(m, `ref ${ref}`).toBeDefined();
          expect(m?.size).toBe(64 + (i % 64));
          expect(m?.package[0]).toBe(i % 251);
        }
        // Nothing beyond at most the one send in flight at the kill.
        expect(held.length - sent.length).toBeLessThanOrEqual(1);
      } finally {
        store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('listens on the given address only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-relay-bind-'));
    const config = parseRelayConfig({ dbPath: join(dir, 'r.db'), address: '127.0.0.1', logLevel: 'silent' });
    const store = RelayStore.open(config.dbPath, config);
    const app = buildRelay({ config, store });
    try {
      const bound = await listenRelay(app, config, 0);
      expect(bound.address).toBe('127.0.0.1');
      // 127.0.0.2 is loopback too, but not the bound address: refused.
      const refused = await new Promise<boolean>((resolve) => {
        const s = createConnection({ host: '127.0.0.2', port: bound.port });
        s.on('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.on('error', () => resolve(true));
      });
      expect(refused).toBe(true);
      const r = await fetch(`http://127.0.0.1:${bound.port}/nothing`);
      expect(r.status).toBe(404);
    } finally {
      await app.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const bad = parseRelayConfig({ dbPath: '/tmp/x.db', address: 'localhost' });
    await expect(
      listenRelay(buildRelay({ config: bad, store: RelayStore.open(':memory:', bad) }), bad, 0),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
