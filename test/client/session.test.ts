/**
 * The line-oriented chat: command parsing (properties), and `onepad chat --json` driven through its input and
 * output streams against real devices and a real relay.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { runChat } from '../../client/cli.js';
import { parseCommand } from '../../client/commands.js';
import { formatEvent, visible } from '../../client/format.js';
import { makeWorld, type World } from './world.js';

describe('command lines', () => {
  it('parses every command', () => {
    expect(parseCommand('@bob hello there')).toEqual({ op: 'send', to: 'bob', text: 'hello there' });
    expect(parseCommand('/to bob  two  spaces ')).toEqual({ op: 'send', to: 'bob', text: ' two  spaces ' });
    expect(parseCommand('/many bob,carol hi')).toEqual({ op: 'many', to: ['bob', 'carol'], text: 'hi' });
    expect(parseCommand('/group friends bob,carol')).toEqual({
      op: 'group',
      name: 'friends',
      members: ['bob', 'carol'],
    });
    expect(parseCommand('#friends hi all')).toEqual({ op: 'gsend', group: 'friends', text: 'hi all' });
    expect(parseCommand('/g friends hi')).toEqual({ op: 'gsend', group: 'friends', text: 'hi' });
    expect(parseCommand('/contact bobby bob')).toEqual({ op: 'contact', name: 'bobby', device: 'bob' });
    expect(parseCommand('/contact bob')).toEqual({ op: 'contact', name: 'bob' });
    expect(parseCommand('')).toEqual({ op: 'receive' });
    expect(parseCommand('/receive')).toEqual({ op: 'receive' });
    for (const bad of [
      'hello',
      '@bob',
      '#g',
      '/to bob',
      '/group g',
      '/group g a, b',
      '/nope',
      '/quit now',
      '/contact a b c',
    ]) {
      expect(parseCommand(bad).op, bad).toBe('invalid');
    }
  });

  it('never throws, and @NAME text round-trips', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (line) => {
        expect(typeof parseCommand(line).op).toBe('string');
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,20}$/),
        fc.string({ minLength: 1, maxLength: 100 }).filter((t) => !t.endsWith('\r')),
        (to, text) => {
          expect(parseCommand(`@${to} ${text}`)).toEqual({ op: 'send', to, text });
        },
      ),
    );
  });

  it('shows control characters in text visibly, so a message cannot drive the terminal', () => {
    expect(visible('a\u001b[2Jb\u202e')).toBe('a\\u{1b}[2Jb\\u{202e}');
    const line = formatEvent({
      type: 'message',
      ref: 1,
      from: 'bob',
      text: '\u001b]0;pwned\u0007hi',
      length: 12,
      time: 0,
      insecure: true,
      shownOnDeviceOnly: false,
    });
    expect(line).toBe('[00:00:00] bob [INSECURE pad]: \\u{1b}]0;pwned\\u{7}hi');
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(/[\u0000-\u001f\u007f-\u009f]/.test(visible(s))).toBe(false);
      }),
    );
  });
});

let world: World;
afterEach(async () => {
  await world?.close();
});

/** A `chat --json` session whose input we write and whose output lines we read. */
function session(name: string, extra: string[] = []) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  stdout.setEncoding('utf8');
  stdout.on('data', (d: string) => {
    buf += d;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
  });
  const ac = new AbortController();
  const device = world.devices[name as 'alice'].service;
  const done = runChat({
    argv: [
      '--name',
      name,
      '--relay',
      world.relayUrl,
      '--device',
      `http://127.0.0.1:${device?.port}`,
      '--state',
      join(world.root, `${name}.chat.json`),
      '--low-pad',
      '0',
      '--json',
      ...extra,
    ],
    stdin,
    stdout,
    stderr,
    signal: ac.signal,
  });
  const until = async (pred: (l: Record<string, unknown>) => boolean) => {
    for (let i = 0; i < 400; i++) {
      const found = lines.find(pred);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no line matched; got ${JSON.stringify(lines)}`);
  };
  return { stdin, lines, done, until, abort: () => ac.abort() };
}

describe('onepad chat --json', () => {
  it('alice sends from her session; bob’s session polls on its own and prints the message', async () => {
    world = await makeWorld();
    const bob = session('bob', ['--poll-ms', '50']);
    const alice = session('alice', ['--poll-ms', '0']);
    await alice.until((l) => l.type === 'ready');
    alice.stdin.write('/group both bob,carol\n');
    alice.stdin.write('@bob hello from alice\n');
    alice.stdin.write('#both to both\n');
    alice.stdin.write('#nogroup x\n');
    alice.stdin.write('nonsense\n');
    alice.stdin.end();
    expect(await alice.done).toBe(0);
    expect(alice.lines.map((l) => l.type)).toEqual(['ready', 'ok', 'sent', 'sent', 'sent', 'error', 'error']);
    expect(alice.lines[5]).toMatchObject({ code: 'UNKNOWN_GROUP' });
    expect(alice.lines[6]).toMatchObject({ code: 'INVALID_ARGUMENT' });

    const m = await bob.until((l) => l.type === 'message' && l.text === 'to both');
    expect(m).toMatchObject({ from: 'alice', insecure: true });
    expect(bob.lines.filter((l) => l.type === 'message').map((l) => l.text)).toEqual(['hello from alice', 'to both']);
    bob.abort();
    expect(await bob.done).toBe(0);
  });

  it('receives on enter when polling is off; /contacts, /groups, /help and /quit', async () => {
    world = await makeWorld();
    await world.chat('alice').send('carol', 'ping');
    const carol = session('carol', ['--poll-ms', '0']);
    carol.stdin.write('/contact alice\n');
    carol.stdin.write('\n');
    carol.stdin.write('/contacts\n');
    carol.stdin.write('/groups\n');
    carol.stdin.write('/help\n');
    carol.stdin.write('/quit\n');
    expect(await carol.done).toBe(0);
    expect(carol.lines.map((l) => l.type)).toEqual(['ready', 'ok', 'message', 'contacts', 'groups', 'help']);
    expect(carol.lines[2]).toMatchObject({ from: 'alice', text: 'ping' });
    expect(carol.lines[3]).toEqual({ type: 'contacts', contacts: { alice: { device: 'alice' } } });
  });

  it('without --json it writes lines for people', async () => {
    world = await makeWorld();
    await world.chat('alice').send('bob', 'plain \u001b[31mred');
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d) => {
      out += d;
    });
    stdin.end('\n/nonsense\n');
    const code = await runChat({
      argv: [
        '--name',
        'bob',
        '--relay',
        world.relayUrl,
        '--device',
        `http://127.0.0.1:${world.devices.bob.service?.port}`,
        '--state',
        join(world.root, 'bob-human.json'),
        '--poll-ms',
        '0',
        '--low-pad',
        '0',
      ],
      stdin,
      stdout,
      stderr: new PassThrough(),
      signal: new AbortController().signal,
    });
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe('onepad chat as bob (/help lists commands)');
    expect(lines[1]).toMatch(/^\[\d\d:\d\d:\d\d\] alice \[INSECURE pad\]: plain \\u\{1b\}\[31mred$/);
    expect(lines[2]).toMatch(/^x INVALID_ARGUMENT: unknown command/);
  });

  it('usage errors exit 64 with a coded message', async () => {
    world = await makeWorld();
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (d) => {
      err += d;
    });
    const code = await runChat({
      argv: ['--relay', world.relayUrl],
      stdin: new PassThrough(),
      stdout: new PassThrough(),
      stderr,
      signal: new AbortController().signal,
    });
    expect(code).toBe(64);
    expect(err).toContain('INVALID_ARGUMENT');
  });
});
