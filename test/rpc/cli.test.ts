/**
 * The CLI commands, called in process: `device` runs the service from a config file; `package` and
 * `unpackage` talk to it over loopback.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandGroup } from '../../device/cli/command.js';
import { chooseScreen, deviceCommand, type ScreenFactory } from '../../device/service/device-command.js';
import { rpcCommands as clientCommands, describeUnpackage } from '../../rpc/cli.js';
import { makePair, type Pair, ScriptedConfirmer, utf8 } from '../helpers/engine-fixture.js';

/** `onepad device` (from the composition root) beside the link's client commands. */
const withDevice = (screen?: ScreenFactory): CommandGroup => ({
  ...clientCommands,
  commands: [deviceCommand(screen), ...clientCommands.commands],
});
const rpcCommands = withDevice();

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(c, _e, cb) {
        chunks.push(String(c));
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

async function run(name: string, argv: string[], signal = new AbortController().signal, group = rpcCommands) {
  const command = group.commands.find((c) => c.name === name);
  if (!command) throw new Error(name);
  const out = sink();
  const err = sink();
  const code = await command.run({ argv, stdout: out.stream, stderr: err.stream, signal });
  return { code, stdout: out.text(), stderr: err.text() };
}

let pair: Pair;
beforeEach(() => {
  pair = makePair(4096);
});
afterEach(() => pair.cleanup());

function writeConfig(extra: Record<string, unknown> = {}, simulated = true): string {
  const file = join(pair.root, `config-${Math.random().toString(36).slice(2)}.json`);
  const cfg = {
    dataDir: pair.dirA,
    device: { name: 'alice', simulated },
    link: { address: '127.0.0.1', peer: '127.0.0.1', logLevel: 'info' },
    ...extra,
  };
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

describe('onepad device', () => {
  it('refuses --auto-approve unless simulated in both flag and config (INSECURE_REFUSED)', async () => {
    let r = await run('device', ['--config', writeConfig(), '--auto-approve']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^onepad: INSECURE_REFUSED/);
    r = await run('device', ['--config', writeConfig({}, false), '--sim', '--auto-approve']);
    expect(r.stderr).toMatch(/^onepad: INSECURE_REFUSED/);
    expect(r.code).toBe(2);
  });

  it('without a confirmation service it refuses to start (NO_CONFIRMER)', async () => {
    let r = await run('device', ['--config', writeConfig(), '--sim']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^onepad: NO_CONFIRMER/);
    r = await run('device', ['--config', writeConfig({}, false)]);
    expect(r.stderr).toMatch(/^onepad: NO_CONFIRMER/);
  });

  it('asks the screen from the factory when there is one, and closes it on stop', async () => {
    const user = new ScriptedConfirmer('denied');
    const opened: string[] = [];
    let closed = 0;
    const factory: ScreenFactory = async (_config, hardware) => {
      opened.push(hardware);
      return { confirmer: user, close: () => void closed++ };
    };
    const ac = new AbortController();
    const out = sink();
    const command = withDevice(factory).commands.find((c) => c.name === 'device');
    const running = command?.run({
      argv: ['--config', writeConfig(), '--sim', '--port', '0'],
      stdout: out.stream,
      stderr: sink().stream,
      signal: ac.signal,
    });
    let port = 0;
    for (let i = 0; i < 400 && port === 0; i++) {
      const ready = out
        .text()
        .split('\n')
        .find((l) => l.includes('"device ready"'));
      if (ready) port = (JSON.parse(ready) as { port: number }).port;
      else await new Promise((r) => setTimeout(r, 10));
    }
    const p = await run('package', ['--url', `http://127.0.0.1:${port}`, '--to', 'bob', 'hello']);
    expect(p.stderr).toMatch(/onepad: DENIED/);
    expect(user.asked).toHaveLength(1);
    ac.abort();
    expect(await running).toBe(0);
    expect(opened).toEqual(['simulated']);
    expect(closed).toBe(1);
    const config = (await import('../../device/config/config.js')).loadConfig(writeConfig({}, false));
    await expect(chooseScreen({ sim: false, autoApprove: true, config })).rejects.toMatchObject({
      code: 'INSECURE_REFUSED',
    });
  });

  it('reports a bad config or argument with its code', async () => {
    let r = await run('device', ['--config', join(pair.root, 'missing.json'), '--sim', '--auto-approve']);
    expect(r.stderr).toMatch(/^onepad: CONFIG_INVALID/);
    r = await run('device', [
      '--config',
      writeConfig({ link: { address: '127.0.0.1', bogus: 1 } }),
      '--sim',
      '--auto-approve',
    ]);
    expect(r.stderr).toMatch(/^onepad: CONFIG_INVALID.*link\.bogus/);
    r = await run('device', ['--config', writeConfig(), '--sim', '--auto-approve', '--port', 'x']);
    expect(r.stderr).toMatch(/^onepad: INVALID_ARGUMENT/);
    expect(r.code).toBe(64);
    r = await run('device', ['--sim']);
    expect(r.stderr).toMatch(/^onepad: INVALID_ARGUMENT/);
  });

  it('runs the service; package and unpackage talk to it; stops on the signal', async () => {
    const ac = new AbortController();
    const command = rpcCommands.commands.find((c) => c.name === 'device');
    const out = sink();
    const err = sink();
    const running = command?.run({
      argv: ['--config', writeConfig(), '--sim', '--auto-approve', '--port', '0'],
      stdout: out.stream,
      stderr: err.stream,
      signal: ac.signal,
    });
    let port = 0;
    for (let i = 0; i < 400 && port === 0; i++) {
      const ready = out
        .text()
        .split('\n')
        .find((l) => l.includes('"device ready"'));
      if (ready) port = (JSON.parse(ready) as { port: number }).port;
      else await new Promise((r) => setTimeout(r, 10));
    }
    expect(port).toBeGreaterThan(0);
    const url = `http://127.0.0.1:${port}`;

    const secret = 'SECRET meet at the old mill';
    const p = await run('package', ['--url', url, '--to', 'bob', secret]);
    expect(p.code).toBe(0);
    const pkg = p.stdout.trim();
    expect(pkg).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(p.stderr).toContain('INSECURE');
    // Bob's device opens it.
    const bob = pair.openB();
    expect(
      new TextDecoder().decode((await bob.unpackage(Buffer.from(pkg, 'base64'))).plaintext ?? new Uint8Array()),
    ).toBe(secret);

    // Bob writes back, skipping one message: alice's device shows the text and the gap.
    await bob.package('alice', utf8('lost on the way'));
    const reply = await bob.package('alice', utf8('SECRET see you there'));
    const u = await run('unpackage', ['--url', url, Buffer.from(reply.package).toString('base64')]);
    expect(u.code).toBe(0);
    expect(u.stdout).toContain('from: bob\ntext: SECRET see you there\n');
    // v2: the gap is the skipped message's key stream, 15 bytes (its key slot is in the key area).
    expect(u.stdout).toMatch(/warning: gap: 15 pad bytes of bob's messages/);

    const replay = await run('unpackage', ['--url', url, Buffer.from(reply.package).toString('base64')]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/^onepad: REPLAY/);
    const unknown = await run('package', ['--url', url, '--to', 'carol', 'hi']);
    expect(unknown.stderr).toMatch(/onepad: UNKNOWN_CONTACT/);

    ac.abort();
    expect(await running).toBe(0);
    const log = out.text();
    expect(log).toContain('"stopping"');
    expect(log).not.toContain('SECRET');
    expect(log).not.toContain(pkg.slice(0, 40));
  });
});

describe('onepad package / unpackage arguments', () => {
  it('need their arguments; an unreachable device is LINK_UNREACHABLE', async () => {
    expect((await run('package', ['hello'])).stderr).toMatch(/^onepad: INVALID_ARGUMENT/);
    expect((await run('package', ['--to', 'bob'])).stderr).toMatch(/^onepad: INVALID_ARGUMENT/);
    expect((await run('unpackage', [])).stderr).toMatch(/^onepad: INVALID_ARGUMENT/);
    expect((await run('unpackage', ['--url', 'http://127.0.0.1:1', 'AAAA'])).stderr).toMatch(
      /^onepad: LINK_UNREACHABLE/,
    );
    expect((await run('package', ['--url', 'http://127.0.0.1:1', '--to', 'bob', '--base64', '%%%'])).stderr).toMatch(
      /^onepad: INVALID_ARGUMENT/,
    );
  });

  it('unpackage prints gaps, late arrival, bytes and private receive', () => {
    const base = {
      contact: 'bob',
      padId: 'aa',
      length: 3,
      late: false,
      insecure: false,
      remaining: 9,
      maxMessageLength: 0,
      messagesLeft: 0,
      shownOnDeviceOnly: false,
    };
    let d = describeUnpackage({ ...base, text: null, bytes: 'AAEC', gaps: [{ start: 10, end: 52 }] });
    expect(d.out).toEqual(['from: bob', 'bytes (base64): AAEC']);
    expect(d.warn[0]).toMatch(/gap: 42 pad bytes .* \(pad range 10-52\)/);
    d = describeUnpackage({
      ...base,
      text: null,
      bytes: null,
      shownOnDeviceOnly: true,
      gaps: [],
      late: true,
      insecure: true,
    });
    expect(d.out[1]).toMatch(/shown on the device's screen only/);
    expect(d.warn).toEqual([expect.stringMatching(/late/), expect.stringMatching(/INSECURE/)]);
  });
});
