/**
 * "N more waiting" on the confirm screen counts the requests the link server holds in its own queue: they wait
 * there, one request at a time, before the confirmation service sees them. Three package requests sent at once
 * show the first on screen with "2 more waiting"; deciding it shows the next with "1 more waiting".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfirmService } from '../../display/confirm-service.js';
import { type DeviceService, startDeviceService } from '../../rpc/service.js';
import { simUi } from '../display/helpers.js';
import { makePair, type Pair } from '../helpers/engine-fixture.js';

let pair: Pair | undefined;
let service: DeviceService | undefined;
afterEach(async () => {
  await service?.stop();
  pair?.cleanup();
  service = undefined;
  pair = undefined;
});

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(ok()).toBe(true);
};

describe('the waiting count reaches the confirm screen', () => {
  it('requests queued in the link server are counted on the screen', async () => {
    pair = makePair(8192);
    const config = pair.configA({ link: { address: '127.0.0.1', peer: '127.0.0.1' }, confirm: { queueLength: 4 } });
    const s = simUi();
    const confirmer = new ConfirmService({ ui: s.ui, clock: s.clock, config: config.confirm, onIdle: () => {} });
    service = await startDeviceService({ config, confirmer, simulated: true, port: 0 });
    const app = service.server;
    const send = (text: string) =>
      app.inject({
        // The link server answers only a Host naming its own address and port (issue 14); inject has no socket,
        // so the port is the configured one.
        authority: `127.0.0.1:${config.link.port}`,
        method: 'POST',
        url: '/package',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ contact: 'bob', text }),
      });
    const replies = [send('one'), send('two'), send('three')];
    await until(() => s.text('info.countdown') === 'Denied in 60 s · 2 more waiting');
    expect(s.text('message.0')).toBe('one');
    s.tap('deny');
    await until(() => s.text('message.0') === 'two');
    expect(s.text('info.countdown')).toBe('Denied in 60 s · 1 more waiting');
    s.tap('deny');
    await until(() => s.text('message.0') === 'three');
    expect(s.text('info.countdown')).toBe('Denied in 60 s');
    s.tap('deny');
    for (const r of await Promise.all(replies)) expect(r.statusCode).toBe(403);
  });
});
