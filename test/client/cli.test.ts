/**
 * `onepad relay` and `onepad chat` as processes: a relay child, and two chat children driven through stdin,
 * between real device services.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeWorld, type World } from './world.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function start(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/client/cli-child.ts', ...args], { cwd: ROOT });
  running.add(child);
  const lines: string[] = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve(code);
    }),
  );
  return { child, lines, exited };
}

async function until<T>(f: () => T | undefined): Promise<T> {
  for (let i = 0; i < 1500; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out');
}

let world: World;
/** Children still running when a test ends (it failed before stopping them): killed. */
const running = new Set<ChildProcessWithoutNullStreams>();
afterEach(async () => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  running.clear();
  await world.close();
});

describe('onepad relay and onepad chat as processes', () => {
  it('alice types a message into her chat, bob’s chat prints it; the relay stops on SIGTERM', async () => {
    world = await makeWorld();
    const relay = start(['relay', '--address', '127.0.0.1', '--port', '0', '--db', join(world.root, 'child-relay.db')]);
    const ready = await until(() =>
      relay.lines.map((l) => JSON.parse(l) as { msg?: string; port?: number }).find((l) => l.msg === 'relay ready'),
    );
    const relayUrl = `http://127.0.0.1:${ready.port}`;
    const chat = (name: 'alice' | 'bob') =>
      start([
        'chat',
        '--json',
        '--name',
        name,
        '--relay',
        relayUrl,
        '--device',
        `http://127.0.0.1:${world.devices[name].service?.port}`,
        '--state',
        join(world.root, `${name}-cli.json`),
        '--poll-ms',
        '0',
      ]);
    const alice = chat('alice');
    alice.child.stdin.end('@bob hello through the processes\n');
    expect(await alice.exited).toBe(0);
    // A 4096-byte pad is far below the default warning level (64 KiB): the warning stands beside the send.
    expect(alice.lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ type: 'ready', name: 'alice' }),
      expect.objectContaining({ type: 'sent', to: 'bob' }),
      expect.objectContaining({ type: 'warning', kind: 'pad-low', contact: 'bob' }),
    ]);

    const bob = chat('bob');
    bob.child.stdin.end('\n');
    expect(await bob.exited).toBe(0);
    const events = bob.lines.map((l) => JSON.parse(l));
    expect(events[1]).toMatchObject({ type: 'message', from: 'alice', text: 'hello through the processes' });

    // The relay's log names no one and holds no package.
    const log = relay.lines.join('\n');
    expect(log).not.toContain('bob');
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
  }, 60_000);

  it('a bad relay option exits 2 with CONFIG_INVALID', async () => {
    world = await makeWorld();
    const relay = start(['relay', '--address', 'localhost', '--db', join(world.root, 'x.db'), '--port', '0']);
    let err = '';
    relay.child.stderr.on('data', (d) => {
      err += d;
    });
    expect(await relay.exited).toBe(2);
    expect(err).toContain('CONFIG_INVALID');
  }, 30_000);
});
