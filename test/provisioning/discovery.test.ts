import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { awaitResponder, findInitiator, linkLocalAddress } from '../../provisioning/discovery.js';

const config = (iface: string) =>
  parseConfig({ dataDir: '/unused', pairing: { interface: iface, discoveryTimeoutMs: 300 } }).pairing;

describe('discovery', () => {
  it('an interface without a link-local address (or none at all) is PAIRING_NO_LINK, for both roles', async () => {
    await expect(findInitiator(config('onepadnone0'))).rejects.toMatchObject({ code: 'PAIRING_NO_LINK' });
    await expect(awaitResponder(config('onepadnone0'), 'alice')).rejects.toMatchObject({ code: 'PAIRING_NO_LINK' });
    // Loopback has ::1 but no fe80:: address: it cannot carry pairing.
    expect(() => linkLocalAddress('lo')).toThrow(expect.objectContaining({ code: 'PAIRING_NO_LINK' }));
  });
});
