/**
 * The chat end to end: real device services and a real relay on loopback, chat clients between them.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient, type ChatEvent } from '../../client/chat.js';
import { newRelayToken, RelayClient } from '../../client/relay-client.js';
import { LinkClient } from '../../rpc/client.js';
import { makeWorld, type World } from './world.js';

let world: World;
afterEach(async () => {
  await world.close();
});

const messages = (events: ChatEvent[]) =>
  events.filter((e) => e.type === 'message').map((e) => ({ from: e.from, text: e.text }));
const warnings = (events: ChatEvent[]) => events.filter((e) => e.type === 'warning').map((e) => e.kind);
const stateOf = (name: string) => JSON.parse(readFileSync(join(world.root, `${name}.chat.json`), 'utf8'));
/** A relay client acting with `name`'s token from its chat state file. */
const relayAs = (name: string) => new RelayClient({ url: world.relayUrl, name, token: stateOf(name).token });

describe('chat end to end', () => {
  it('a message from alice arrives decrypted at bob, and is acknowledged at the relay', async () => {
    world = await makeWorld();
    const alice = world.chat('alice');
    const bob = world.chat('bob');
    const sent = await alice.send('bob', 'meet at noon');
    expect(sent).toEqual([expect.objectContaining({ type: 'sent', to: 'bob', insecure: true })]);
    expect(world.store.count('bob')).toBe(1);
    const got = await bob.receive();
    expect(messages(got)).toEqual([{ from: 'alice', text: 'meet at noon' }]);
    expect(warnings(got)).toEqual([]);
    expect(world.store.count('bob')).toBe(0);
    expect(bob.lastRef).toBe((sent[0] as { ref: number }).ref);
    expect(await bob.receive()).toEqual([]);
    // The state file: 0600, no text, the last ref, written atomically (no temporary file left).
    const path = join(world.root, 'bob.chat.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const raw = readFileSync(path, 'utf8');
    expect(raw).not.toContain('noon');
    expect(Object.values(JSON.parse(raw).lastRef)).toEqual([bob.lastRef]);
    // A new client on the same file carries on after the last ref.
    const bob2 = world.chat('bob');
    expect(bob2.lastRef).toBe(bob.lastRef);
  });

  it('sends to several and to a group; groups and contacts are remembered', async () => {
    world = await makeWorld();
    const alice = world.chat('alice');
    await alice.addContact('bobby', 'bob');
    // Calls run in order: a group send right after its definition (not awaited) sees it.
    const defined = alice.defineGroup('friends', ['bob', 'carol']);
    const early = alice.sendGroup('friends', 'early bird');
    await defined;
    expect((await early).map((e) => e.type)).toEqual(['sent', 'sent']);
    const again = world.chat('alice');
    expect(again.groups).toEqual({ friends: ['bob', 'carol'] });
    expect(again.contacts).toEqual({ bobby: { device: 'bob' } });

    const group = await alice.sendGroup('friends', 'party at eight');
    expect(group.map((e) => e.type === 'sent' && e.to)).toEqual(['bob', 'carol']);
    const many = await alice.sendMany(['carol', 'bob'], 'bring snacks');
    expect(many.map((e) => e.type === 'sent' && e.to)).toEqual(['carol', 'bob']);

    const bob = world.chat('bob');
    const carol = world.chat('carol');
    expect(messages(await bob.receive())).toEqual([
      { from: 'alice', text: 'early bird' },
      { from: 'alice', text: 'party at eight' },
      { from: 'alice', text: 'bring snacks' },
    ]);
    expect(messages(await carol.receive())).toEqual([
      { from: 'alice', text: 'early bird' },
      { from: 'alice', text: 'party at eight' },
      { from: 'alice', text: 'bring snacks' },
    ]);
    await expect(alice.sendGroup('nobody', 'x')).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
    await expect(alice.defineGroup('bad group!', ['bob'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(alice.defineGroup('dup', ['bob', 'bob'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a contact whose relay name differs from its pad name is shown under the relay name', async () => {
    world = await makeWorld();
    // alice is "ally" at the relay; bob's device knows her pad as "alice".
    const ally = world.chat('alice', { name: 'ally', statePath: join(world.root, 'ally.chat.json') });
    const bob = world.chat('bob');
    await bob.addContact('ally', 'alice');
    await bob.addContact('bobby', 'bob');
    await ally.send('bob', 'hi from ally');
    const got = await bob.receive();
    expect(messages(got)).toEqual([{ from: 'ally', text: 'hi from ally' }]);
    expect(warnings(got)).toEqual([]);
  });

  it('a relay sender that disagrees with the pad is a warning beside the message', async () => {
    world = await makeWorld();
    const alice = world.chat('alice');
    const bob = world.chat('bob');
    const sent = await alice.send('bob', 'hi');
    const ref = (sent[0] as { ref: number }).ref;
    const [m] = world.store.fetch('bob', ref - 1, 1, 0);
    world.store.ack('bob', [ref]);
    // carol re-posts alice's package under her own name.
    world.chat('carol');
    await relayAs('carol').send('bob', Buffer.from(m?.package ?? []).toString('base64'));
    const got = await bob.receive();
    expect(messages(got)).toEqual([{ from: 'alice', text: 'hi' }]);
    expect(got.find((e) => e.type === 'warning')).toMatchObject({ kind: 'sender-mismatch', contact: 'alice' });
    expect(warnings(got)).toEqual(['sender-mismatch']);
  });

  it('a message dropped at the relay shows as a gap; when it turns up later it is marked late', async () => {
    world = await makeWorld();
    const alice = world.chat('alice');
    const bob = world.chat('bob');
    const first = (await alice.send('bob', 'first'))[0] as { ref: number };
    await alice.send('bob', 'second');
    const [held] = world.store.fetch('bob', first.ref - 1, 1, 0);
    world.store.ack('bob', [first.ref]);
    const got = await bob.receive();
    expect(warnings(got)).toEqual(['gap']);
    expect(got.findIndex((e) => e.type === 'warning')).toBeLessThan(got.findIndex((e) => e.type === 'message'));
    expect(messages(got)).toEqual([{ from: 'alice', text: 'second' }]);
    world.store.insert('alice', 'bob', held?.package ?? new Uint8Array(), world.clock.now);
    const late = await bob.receive();
    expect(warnings(late)).toEqual(['late']);
    expect(messages(late)).toEqual([{ from: 'alice', text: 'first' }]);
  });

  it('a tampered package injected at the relay is a forgery warning, never text, and is acknowledged', async () => {
    world = await makeWorld();
    const alice = world.chat('alice');
    const bob = world.chat('bob');
    const ref = ((await alice.send('bob', 'the real one'))[0] as { ref: number }).ref;
    const [m] = world.store.fetch('bob', ref - 1, 1, 0);
    world.store.ack('bob', [ref]);
    const forged = Uint8Array.from(m?.package ?? []);
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1;
    world.store.insert('alice', 'bob', forged, world.clock.now);
    const got = await bob.receive();
    expect(got).toEqual([expect.objectContaining({ type: 'warning', kind: 'forgery', code: 'MAC_INVALID' })]);
    expect(JSON.stringify(got)).not.toContain('real one');
    expect(world.store.count('bob')).toBe(0);
    // Nothing changed on bob's device: the genuine package still opens.
    world.store.insert('alice', 'bob', m?.package ?? new Uint8Array(), world.clock.now);
    expect(messages(await bob.receive())).toEqual([{ from: 'alice', text: 'the real one' }]);
  });

  it('the same package posted twice is shown once, then as a replay warning', async () => {
    world = await makeWorld();
    const alice = world.chat('alice');
    const bob = world.chat('bob');
    const ref = ((await alice.send('bob', 'once only'))[0] as { ref: number }).ref;
    const [m] = world.store.fetch('bob', ref - 1, 1, 0);
    await relayAs('alice').send('bob', Buffer.from(m?.package ?? []).toString('base64'));
    const got = await bob.receive();
    expect(messages(got)).toEqual([{ from: 'alice', text: 'once only' }]);
    expect(got.at(-1)).toMatchObject({ type: 'warning', kind: 'replay', code: 'REPLAY' });
    expect(world.store.count('bob')).toBe(0);
  });

  it('a crash after the device opened a package but before the ack: the next receive says REPLAY, not silence', async () => {
    world = await makeWorld();
    const alice = world.chat('alice');
    const bob = world.chat('bob');
    const ref = ((await alice.send('bob', 'in flight'))[0] as { ref: number }).ref;
    const [m] = world.store.fetch('bob', ref - 1, 1, 0);
    // The device processes it (and burns the segment), then the laptop dies before acknowledging.
    await world.devices.bob.link.unpackage(Buffer.from(m?.package ?? []).toString('base64'));
    const got = await bob.receive();
    expect(got).toEqual([expect.objectContaining({ type: 'warning', kind: 'replay', ref })]);
    expect(world.store.count('bob')).toBe(0);
  });

  it('shows the pad running low, once, on send and on receive', async () => {
    world = await makeWorld({ padSize: 1024 });
    const alice = world.chat('alice', { lowPadBytes: 500 });
    const bob = world.chat('bob', { lowPadBytes: 600 });
    const sent = await alice.send('bob', 'x'.repeat(20));
    expect(warnings(sent)).toEqual(['pad-low']);
    expect(warnings(await alice.send('bob', 'more'))).toEqual([]);
    const got = await bob.receive();
    expect(warnings(got)).toEqual(['pad-low']);
    expect(messages(got)).toHaveLength(2);
  });

  it('a send the device refuses (DENIED, PAD_EXHAUSTED, UNKNOWN_CONTACT) is an error event, nothing reaches the relay', async () => {
    world = await makeWorld({ padSize: 1024 });
    const alice = world.chat('alice');
    world.devices.alice.confirmer.answer = 'denied';
    expect(await alice.send('bob', 'no')).toEqual([
      expect.objectContaining({ type: 'error', to: 'bob', code: 'DENIED' }),
    ]);
    world.devices.alice.confirmer.answer = 'approved';
    expect(await alice.send('bob', 'y'.repeat(900))).toEqual([
      expect.objectContaining({ type: 'error', code: 'PAD_EXHAUSTED' }),
    ]);
    expect(await alice.send('dave', 'who?')).toEqual([
      expect.objectContaining({ type: 'error', code: 'UNKNOWN_CONTACT' }),
    ]);
    expect(world.store.count()).toBe(0);
    await expect(alice.send('bad name!', 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('declining to decrypt on the device is a warning and the package is acknowledged', async () => {
    world = await makeWorld({ config: { bob: { confirm: { confirmDecrypt: true } } } });
    const alice = world.chat('alice');
    const bob = world.chat('bob');
    await alice.send('bob', 'private');
    world.devices.bob.confirmer.answer = 'denied';
    const got = await bob.receive();
    expect(got).toEqual([expect.objectContaining({ type: 'warning', kind: 'declined', code: 'DENIED' })]);
    expect(world.store.count('bob')).toBe(0);
  });

  it('a device that is down: the message stays at the relay and arrives once the device is back', async () => {
    world = await makeWorld();
    const alice = world.chat('alice');
    const bob = world.chat('bob');
    await alice.send('bob', 'wait for me');
    await world.devices.bob.stop();
    const down = await bob.receive();
    expect(down).toEqual([
      expect.objectContaining({ type: 'warning', kind: 'device-unavailable', code: 'LINK_UNREACHABLE' }),
    ]);
    // Said once per outage, not at every poll.
    expect(await bob.receive()).toEqual([]);
    expect(world.store.count('bob')).toBe(1);
    expect(bob.lastRef).toBe(0);
    await world.devices.bob.start();
    expect(messages(await bob.receive())).toEqual([{ from: 'alice', text: 'wait for me' }]);
  });

  it('a send the relay refuses is kept encrypted in memory and delivered on the next poll', async () => {
    world = await makeWorld({ relay: { rate: { burst: 1, perMinute: 1 } } });
    const alice = world.chat('alice');
    await alice.send('bob', 'one');
    const limited = await alice.send('bob', 'two');
    expect(limited).toEqual([
      expect.objectContaining({ type: 'warning', kind: 'undelivered', code: 'RELAY_RATE_LIMITED' }),
    ]);
    expect(alice.undelivered).toBe(1);
    world.clock.now += 60_000;
    const flushed = await alice.receive();
    expect(flushed).toEqual([expect.objectContaining({ type: 'sent', to: 'bob' })]);
    expect(messages(await world.chat('bob').receive())).toEqual([
      { from: 'alice', text: 'one' },
      { from: 'alice', text: 'two' },
    ]);
  });

  it('an unreachable relay or one that answers outside the protocol is a warning (RELAY_UNREACHABLE, RELAY_BAD_RESPONSE)', async () => {
    world = await makeWorld();
    let huge = false;
    const junk = createServer((_req, res) => {
      if (!huge) {
        res.end('not json');
        return;
      }
      res.writeHead(200, { 'content-length': String(200 * 1024 * 1024) });
      res.write('{"messages": [');
      setTimeout(() => res.destroy(), 200);
    });
    await new Promise<void>((r) => junk.listen(0, '127.0.0.1', r));
    const port = (junk.address() as { port: number }).port;
    try {
      const alice = world.chat('alice', {
        relayUrl: `http://127.0.0.1:${port}`,
        statePath: join(world.root, 'a2.json'),
      });
      expect(await alice.receive()).toEqual([
        expect.objectContaining({ type: 'warning', kind: 'relay-unavailable', code: 'RELAY_BAD_RESPONSE' }),
      ]);
      // A relay that announces an answer larger than the client reads.
      const bloated = new RelayClient({
        url: `http://127.0.0.1:${port}`,
        name: 'alice',
        token: newRelayToken(),
      });
      huge = true;
      await expect(bloated.fetch(0)).rejects.toMatchObject({
        code: 'RELAY_BAD_RESPONSE',
        details: { reason: 'too large' },
      });
      const closed = world.chat('alice', { relayUrl: 'http://127.0.0.1:1', statePath: join(world.root, 'a3.json') });
      expect(await closed.receive()).toEqual([
        expect.objectContaining({ type: 'warning', kind: 'relay-unavailable', code: 'RELAY_UNREACHABLE' }),
      ]);
      expect(await closed.receive()).toEqual([]);
    } finally {
      await new Promise((r) => junk.close(r));
    }
  });

  it('refuses a state file that is not valid or belongs to another name (CHAT_STATE_INVALID)', async () => {
    world = await makeWorld();
    world.chat('alice');
    expect(() => world.chat('bob', { statePath: join(world.root, 'alice.chat.json') })).toThrow(
      expect.objectContaining({ code: 'CHAT_STATE_INVALID' }),
    );
    const bad = join(world.root, 'bad.json');
    writeFileSync(bad, '{"version": 1');
    expect(() => world.chat('bob', { statePath: bad })).toThrow(/state file/);
    writeFileSync(bad, JSON.stringify({ ...stateOf('alice'), lastRef: { x: -1 } }));
    expect(() => world.chat('alice', { statePath: bad })).toThrow(/state file/);
    expect(
      () =>
        new ChatClient({
          name: 'alice',
          device: new LinkClient({ url: 'http://127.0.0.1:1' }),
          relayUrl: 'ftp://x',
          statePath: join(world.root, 'n.json'),
        }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
