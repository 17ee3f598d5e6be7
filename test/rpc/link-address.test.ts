/**
 * The link address: one unicast host address only. A table of spellings of every wildcard, mapped, translated,
 * multicast and broadcast form (each refused, on a simulated device too, except the plain wildcard there), and a
 * property test over random IPv4-mapped and multicast addresses in random spellings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { addressRefusal, checkLinkAddress, isWildcard, subnetRefusal } from '../../rpc/link-address.js';
import { build, listen } from '../../rpc/server.js';
import { FakeEngine } from './fake-engine.js';

const table: [string, string | null][] = [
  ['0.0.0.0', 'wildcard'],
  ['::', 'wildcard'],
  ['::0', 'wildcard'],
  ['0::0', 'wildcard'],
  ['0:0:0:0:0:0:0:0', 'wildcard'],
  ['0000:0000:0000:0000:0000:0000:0000:0000', 'wildcard'],
  ['::0.0.0.0', 'wildcard'],
  ['::ffff:0:0', 'ipv4-mapped'],
  ['::FFFF:0:0', 'ipv4-mapped'],
  ['::ffff:0.0.0.0', 'ipv4-mapped'],
  ['0:0:0:0:0:ffff:0:0', 'ipv4-mapped'],
  ['0:0:0:0:0:FFFF:0.0.0.0', 'ipv4-mapped'],
  ['0000:0000:0000:0000:0000:ffff:0000:0000', 'ipv4-mapped'],
  ['::ffff:10.254.0.1', 'ipv4-mapped'],
  ['::ffff:afe:1', 'ipv4-mapped'],
  ['::ffff:127.0.0.1', 'ipv4-mapped'],
  ['::ffff:255.255.255.255', 'ipv4-mapped'],
  ['::ffff:0:0:0', 'ipv4-translated'],
  ['::ffff:0:0.0.0.0', 'ipv4-translated'],
  ['::ffff:0:a00:1', 'ipv4-translated'],
  ['::10.254.0.1', 'ipv4-compatible'],
  ['::a00:1', 'ipv4-compatible'],
  ['::2', 'ipv4-compatible'],
  ['64:ff9b::', 'nat64'],
  ['64:ff9b::10.254.0.1', 'nat64'],
  ['64:ff9b:1::1', 'nat64'],
  ['ff02::1', 'multicast'],
  ['FF05::2', 'multicast'],
  ['ff0e::1:2', 'multicast'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['0.0.0.1', 'reserved'],
  ['0.1.2.3', 'reserved'],
  ['0', 'not an IP'],
  ['0x0', 'not an IP'],
  ['00', 'not an IP'],
  ['0.0', 'not an IP'],
  ['[::]', 'not an IP'],
  ['[::ffff:0:0]', 'not an IP'],
  ['::%lo', 'not an IP'],
  ['fe80::1%1', 'not an IP'],
  ['::0:0.0.0.0', 'wildcard'],
  ['0:0:0:0:0:0:0.0.0.0', 'wildcard'],
  ['::ffff:0000:0000', 'ipv4-mapped'],
  ['::FFFF:255.255.255.255', 'ipv4-mapped'],
  ['::0.0.0.1', null], // ::1 written with a dotted tail: the loopback address itself
  ['::255.255.255.255', 'ipv4-compatible'],
  ['ff02::1%eth0', 'not an IP'],
  ['ff01::1', 'multicast'],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
  ['255.255.255.254', 'reserved'],
  ['1.2.3', 'not an IP'],
  ['127.1', 'not an IP'],
  ['010.254.0.1', 'not an IP'],
  ['0x0a.254.0.1', 'not an IP'],
  ['167116289', 'not an IP'],
  ['[::1]', 'not an IP'],
  ['fe80::1%eth0', 'not an IP'],
  ['10.254.0.1 ', 'not an IP'],
  ['localhost', 'not an IP'],
  ['', 'not an IP'],
  // Unicast host addresses: accepted.
  ['10.254.0.1', null],
  ['127.0.0.1', null],
  ['192.168.1.7', null],
  ['::1', null],
  ['fd00:254::1', null],
  ['fe80::1', null],
  ['2001:db8::1', null],
];

describe('addressRefusal', () => {
  it.each(table)('%s → %s', (address, reason) => {
    expect(addressRefusal(address)).toBe(reason);
  });

  it('checkLinkAddress allows only the plain wildcard, and only on a simulated device', () => {
    for (const [address, reason] of table) {
      if (reason === null) {
        expect(() => checkLinkAddress(address, false)).not.toThrow();
        continue;
      }
      expect(() => checkLinkAddress(address, false)).toThrow(
        expect.objectContaining({ code: 'LINK_ADDRESS_REFUSED', details: expect.objectContaining({ reason }) }),
      );
      if (reason === 'wildcard') expect(() => checkLinkAddress(address, true)).not.toThrow();
      else
        expect(() => checkLinkAddress(address, true)).toThrow(
          expect.objectContaining({ code: 'LINK_ADDRESS_REFUSED' }),
        );
    }
    expect(isWildcard('::ffff:0:0')).toBe(false);
  });

  const hex = (n: number, pad: boolean, upper: boolean) => {
    const s = n.toString(16);
    const p = pad ? s.padStart(4, '0') : s;
    return upper ? p.toUpperCase() : p;
  };
  it('every IPv4-mapped address, however written, is refused', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.nat({ max: 5 }),
        fc.boolean(),
        fc.boolean(),
        (v4, form, pad, upper) => {
          const hi = v4 >>> 16;
          const lo = v4 & 0xffff;
          const dotted = [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.');
          const ffff = upper ? 'FFFF' : 'ffff';
          const z = pad ? '0000' : '0';
          const spelled = [
            `::${ffff}:${dotted}`,
            `::${ffff}:${hex(hi, pad, upper)}:${hex(lo, pad, upper)}`,
            `${z}:${z}:${z}:${z}:${z}:${ffff}:${hex(hi, pad, upper)}:${hex(lo, pad, upper)}`,
            `${z}:${z}:${z}:${z}:${z}:${ffff}:${dotted}`,
            `${z}::${ffff}:${dotted}`,
            `${z}:${z}::${ffff}:${hex(hi, pad, upper)}:${hex(lo, pad, upper)}`,
          ][form] as string;
          expect(addressRefusal(spelled)).toBe('ipv4-mapped');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('every multicast address, IPv4 or IPv6, is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 224, max: 239 }), fc.nat({ max: 0xffffff }), (a, rest) => {
        expect(addressRefusal(`${a}.${rest >>> 16}.${(rest >>> 8) & 255}.${rest & 255}`)).toBe('multicast');
      }),
    );
    fc.assert(
      fc.property(
        fc.nat({ max: 0xff }),
        fc.array(fc.nat({ max: 0xffff }), { minLength: 7, maxLength: 7 }),
        (b, groups) => {
          expect(
            addressRefusal(
              [`ff${hex(b, false, false).padStart(2, '0')}`, ...groups.map((g) => g.toString(16))].join(':'),
            ),
          ).toBe('multicast');
        },
      ),
    );
  });
});

describe('subnetRefusal: the broadcast and network address of a configured subnet', () => {
  const interfaces = [
    { family: 'IPv4', cidr: '10.254.0.1/24' },
    { family: 'IPv4', cidr: '192.168.7.9/31' },
    { family: 'IPv4', cidr: '172.16.5.5/32' },
    { family: 4, cidr: '10.1.0.1/16' },
    { family: 'IPv6', cidr: 'fd00::1/64' },
    { family: 'IPv4', cidr: null },
  ];
  it.each([
    ['10.254.0.255', 'subnet-broadcast'],
    ['10.254.0.0', 'subnet-network'],
    ['10.1.255.255', 'subnet-broadcast'],
    ['10.1.0.0', 'subnet-network'],
    ['10.254.0.1', null],
    ['10.254.0.254', null],
    ['10.1.0.255', null], // inside the /16: a host address
    ['192.168.7.8', null], // a /31 has no broadcast or network address (RFC 3021)
    ['192.168.7.9', null],
    ['172.16.5.5', null],
    ['fd00::', null],
    ['10.9.0.255', null], // no subnet of the machine: not knowable, not refused
  ] as const)('%s → %s', (address, reason) => {
    expect(subnetRefusal(address, interfaces)).toBe(reason);
    if (reason === null) expect(() => checkLinkAddress(address, false, interfaces)).not.toThrow();
    else
      expect(() => checkLinkAddress(address, false, interfaces)).toThrow(
        expect.objectContaining({ code: 'LINK_ADDRESS_REFUSED', details: expect.objectContaining({ reason }) }),
      );
  });
});

describe('listen', () => {
  // 127.255.255.255 and 127.0.0.0: the broadcast and network address of lo's 127.0.0.0/8 (Linux would bind the
  // broadcast, and no client could ever connect).
  it.each([
    '::ffff:0:0',
    '::ffff:0.0.0.0',
    '::ffff:127.0.0.1',
    'ff02::1',
    '224.0.0.1',
    '255.255.255.255',
    '127.255.255.255',
    '127.0.0.0',
  ])('refuses %s even on a simulated device, and binds nothing', async (address) => {
    const config = parseConfig({ dataDir: '/nonexistent', link: { address: '127.0.0.1', peer: '127.0.0.1' } });
    const app = build({ engine: new FakeEngine(), config });
    try {
      await expect(listen(app, { ...config.link, address }, { simulated: true, port: 0 })).rejects.toMatchObject({
        code: 'LINK_ADDRESS_REFUSED',
      });
      expect(app.server.listening).toBe(false);
    } finally {
      await app.close();
    }
  });
});
