/**
 * `onepad device --sim` on its own, as a process: its simulated screen is served on loopback when
 * display.simPagePort is set, and a hold posted to the page's input approves a request made over the link.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkClient } from '../../rpc/client.js';
import { makePair, type Pair, text } from '../helpers/engine-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface RunningDevice {
  readonly linkPort: number;
  readonly page: string;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a device that did not stop). */
  kill(): void;
}

/** Write a simulated device's config into the pair's root and run `onepad device --sim` on it. */
async function startDevice(p: Pair, file: string, device: Record<string, unknown>): Promise<RunningDevice> {
  const [linkPort, pagePort] = [await freePort(), await freePort()];
  const config = join(p.root, file);
  writeFileSync(
    config,
    JSON.stringify({
      dataDir: p.dirA,
      device: { ...device, simulated: true },
      link: { address: '127.0.0.1', peer: '127.0.0.1', port: linkPort, logLevel: 'warn' },
      display: { sink: 'sim', input: 'sim', holdMs: 300, simPagePort: pagePort },
      hrng: { sources: [{ kind: 'simulated' }], poolMaxBytes: 65536 },
    }),
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'device/service/main.ts', 'device', '--config', config, '--sim'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    linkPort,
    page: `http://127.0.0.1:${pagePort}`,
    stderr: () => stderr,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: () => child.kill('SIGKILL'),
  };
}

let pair: Pair | undefined;
afterEach(() => pair?.cleanup());

describe('onepad device --sim with its screen on a page', () => {
  it('serves the screen; a hold posted to the page approves a request from the link', async () => {
    pair = makePair(8192);
    const dev = await startDevice(pair, 'alice.json', { name: 'alice', ownerWord: 'heron' });
    const { linkPort, page } = dev;
    const stderr = dev.stderr;
    try {
      const until = Date.now() + 30_000;
      while (!stderr().includes(`simulated screen: ${page}/`)) {
        if (Date.now() > until) throw new Error(`no page: ${stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const layout = async () =>
        (await (await fetch(`${page}/api/alice/layout`)).json()) as {
          screen: string;
          texts: { text: string }[];
          buttons: { id: string; box: { x: number; y: number; w: number; h: number } }[];
        };
      // The link server may come up a moment after the page.
      const client = new LinkClient({ url: `http://127.0.0.1:${linkPort}` });
      let sending: Promise<{ package: string }> | undefined;
      while (!sending) {
        try {
          await fetch(`http://127.0.0.1:${linkPort}/`);
          sending = client.package('bob', { text: 'from a standalone device' });
        } catch {
          if (Date.now() > until) throw new Error(`no link server: ${stderr()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      let l = await layout();
      while (l.screen !== 'confirm-encrypt') {
        if (Date.now() > until) throw new Error(`no confirm screen (shows ${l.screen})`);
        await new Promise((r) => setTimeout(r, 50));
        l = await layout();
      }
      expect(l.texts.map((t) => t.text).join('\n')).toContain('from a standalone device');
      const b = l.buttons.find((x) => x.id === 'approve')!;
      const at = { x: Math.round(b.box.x + b.box.w / 2), y: Math.round(b.box.y + b.box.h / 2) };
      const post = (phase: string) =>
        fetch(`${page}/api/alice/input`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ phase, ...at }),
        });
      expect((await post('down')).status).toBe(204);
      // Held until the request leaves the screen, as a person holds until the bar fills.
      const heldUntil = Date.now() + 20_000;
      while ((await layout()).screen === 'confirm-encrypt' && Date.now() < heldUntil)
        await new Promise((r) => setTimeout(r, 50));
      await post('up');
      const pkg = await sending;
      const bob = pair.openB();
      expect(text((await bob.unpackage(Buffer.from(pkg.package, 'base64'))).plaintext)).toBe(
        'from a standalone device',
      );
      // Wrong Host headers are refused (no DNS rebinding to the page).
      // (fetch ignores a Host header; node:http sends it.)
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: Number(new URL(page).port), path: '/', headers: { host: 'evil.example' } },
          (res) => {
            res.resume();
            resolve(res.statusCode);
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(421);
    } finally {
      expect(await dev.stop()).toBe(0);
    }
  }, 90_000);

  it('first boot asks on the screen for the name and the word, saves them, and shows the word on every screen', async () => {
    pair = makePair(8192);
    const dev = await startDevice(pair, 'fresh.json', { name: 'new' });
    const { page } = dev;
    try {
      const layout = async () =>
        (await (await fetch(`${page}/api/new/layout`)).json()) as {
          screen: string;
          texts: { id: string; text: string }[];
          buttons: { id: string; box: { x: number; y: number; w: number; h: number } }[];
        };
      const waitFor = async (screen: string, title?: string) => {
        const until = Date.now() + 60_000;
        for (;;) {
          try {
            const l = await layout();
            if (l?.screen === screen && (!title || l.texts.some((t) => t.id === 'title' && t.text === title))) return l;
          } catch {
            // the page is not up yet
          }
          if (Date.now() > until) throw new Error(`no ${screen} screen: ${dev.stderr()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      // Hold Keep until the step is left, as a person holds until the bar fills (a fixed hold may end before the
      // hold's timers fire on a loaded machine).
      const holdKeep = async (l: Awaited<ReturnType<typeof layout>>) => {
        const b = l.buttons.find((x) => x.id === 'keep')!;
        const at = { x: Math.round(b.box.x + b.box.w / 2), y: Math.round(b.box.y + b.box.h / 2) };
        const title = (x: Awaited<ReturnType<typeof layout>>) => x.texts.find((t) => t.id === 'title')?.text;
        const post = (phase: string) =>
          fetch(`${page}/api/new/input`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ phase, ...at }),
          });
        await post('down');
        try {
          const heldUntil = Date.now() + 20_000;
          for (;;) {
            const now = await layout().catch(() => l); // a reset connection: ask again
            if (now.screen !== l.screen || title(now) !== title(l)) break;
            if (Date.now() > heldUntil) throw new Error('holding Keep did not leave the step');
            await new Promise((r) => setTimeout(r, 50));
          }
        } finally {
          await post('up');
        }
      };
      const nameStep = await waitFor('setup', 'Name this device');
      const name = nameStep.texts.find((t) => t.id === 'value')!.text;
      await holdKeep(nameStep);
      const wordStep = await waitFor('setup', 'Choose your word');
      const word = wordStep.texts.find((t) => t.id === 'value')!.text;
      await holdKeep(wordStep);
      const home = await waitFor('home');
      const band = home.texts.map((t) => t.text).join('\n');
      expect(band).toContain(name);
      expect(band).toContain(word);
      expect(JSON.parse(readFileSync(join(pair.dirA, 'identity.json'), 'utf8'))).toEqual({ name, ownerWord: word });
    } finally {
      expect(await dev.stop()).toBe(0);
    }
  }, 180_000);

  it('SIGTERM during first-boot setup stops it at once: exit 0, nothing saved', async () => {
    pair = makePair(8192);
    const dev = await startDevice(pair, 'fresh.json', { name: 'new' });
    const until = Date.now() + 60_000;
    for (;;) {
      const l = await fetch(`${dev.page}/api/new/layout`).then(
        (r) => r.json() as Promise<{ screen?: string } | null>,
        () => null,
      );
      if (l?.screen === 'setup') break;
      if (Date.now() > until) throw new Error(`no setup screen: ${dev.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // It stops because it listens (the setup would otherwise wait for its owner forever).
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      dev.stop(),
      new Promise<'still running'>((r) => {
        timer = setTimeout(() => r('still running'), 30_000);
      }),
    ]);
    clearTimeout(timer);
    if (code === 'still running') dev.kill();
    expect(code).toBe(0);
    expect(existsSync(join(pair.dirA, 'identity.json'))).toBe(false);
    expect(dev.stderr()).not.toMatch(/Error/);
  }, 90_000);
});
