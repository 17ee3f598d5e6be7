/**
 * What address the link server may bind to: one unicast host address, written as a plain IP literal. Every form
 * that means "every interface", another family's address in disguise, a group or a broadcast is refused, however
 * it is spelled (node:net's own parser decides what the text is; BlockList decides which ranges it falls in).
 */
import { BlockList, isIP } from 'node:net';
import { OnepadError } from '../device/errors.js';

/** Why an address is refused. */
export type AddressRefusal =
  | 'not an IP'
  | 'wildcard'
  | 'ipv4-mapped'
  | 'ipv4-compatible'
  | 'ipv4-translated'
  | 'nat64'
  | 'multicast'
  | 'broadcast'
  | 'subnet-broadcast'
  | 'subnet-network'
  | 'reserved';

const IPV4: readonly (readonly [string, number, AddressRefusal])[] = [
  ['0.0.0.0', 32, 'wildcard'],
  ['0.0.0.0', 8, 'reserved'], // "this network": not a host address
  ['255.255.255.255', 32, 'broadcast'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // class E, never assigned to a host
];

const IPV6: readonly (readonly [string, number, AddressRefusal])[] = [
  ['::', 128, 'wildcard'],
  ['::ffff:0:0', 96, 'ipv4-mapped'], // ::ffff:0.0.0.0 binds every IPv4 interface
  ['::ffff:0:0:0', 96, 'ipv4-translated'], // RFC 6145
  ['64:ff9b::', 96, 'nat64'], // RFC 6052
  ['64:ff9b:1::', 48, 'nat64'], // RFC 8215
  ['ff00::', 8, 'multicast'],
];

function listOf(family: 'ipv4' | 'ipv6', ranges: readonly (readonly [string, number, AddressRefusal])[]) {
  return ranges.map(([net, prefix, reason]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, family);
    return { list, reason };
  });
}

const REFUSED_V4 = listOf('ipv4', IPV4);
const REFUSED_V6 = listOf('ipv6', IPV6);
/** ::/96 without :: and ::1: the deprecated IPv4-compatible addresses (::10.254.0.1). */
const COMPATIBLE = new BlockList();
COMPATIBLE.addRange('::2', '::ffff:ffff', 'ipv6');

/**
 * Why `address` cannot be the link address, or null when it is one unicast host address.
 *
 * Plain IP literals only, as node:net reads them: no zone, no brackets, no IPv4 with leading zeros or fewer than
 * four parts.
 */
export function addressRefusal(address: string): AddressRefusal | null {
  const family = isIP(address);
  if (family === 4) {
    for (const r of REFUSED_V4) if (r.list.check(address, 'ipv4')) return r.reason;
    return null;
  }
  if (family === 6) {
    if (address.includes('%')) return 'not an IP';
    for (const r of REFUSED_V6) if (r.list.check(address, 'ipv6')) return r.reason;
    if (COMPATIBLE.check(address, 'ipv6')) return 'ipv4-compatible';
    return null;
  }
  return 'not an IP';
}

/** What {@link subnetRefusal} needs of an interface address (os.networkInterfaces() entries have it). */
export interface InterfaceAddress {
  readonly family: string | number;
  readonly cidr: string | null;
}

/**
 * Why `address` cannot be bound given the machine's IPv4 subnets, or null: the directed broadcast of a subnet
 * (Linux lets a TCP server bind it, and then no one can connect) or its network address. Only knowable from
 * the interfaces configured now; /31 and /32 subnets have neither (RFC 3021).
 */
export function subnetRefusal(
  address: string,
  interfaces: readonly InterfaceAddress[],
): 'subnet-broadcast' | 'subnet-network' | null {
  if (isIP(address) !== 4) return null;
  const value = (a: string) => a.split('.').reduce((v, p) => v * 256 + Number(p), 0);
  const a = value(address);
  for (const i of interfaces) {
    if ((i.family !== 'IPv4' && i.family !== 4) || !i.cidr) continue;
    const [ip, bits] = i.cidr.split('/');
    const prefix = Number(bits);
    if (ip === undefined || isIP(ip) !== 4 || !(prefix >= 1 && prefix <= 30)) continue;
    const size = 2 ** (32 - prefix);
    const network = Math.floor(value(ip) / size) * size;
    if (a === network + size - 1) return 'subnet-broadcast';
    if (a === network) return 'subnet-network';
  }
  return null;
}

/** True for an address that means "every interface": 0.0.0.0 or :: in any spelling. */
export function isWildcard(address: string): boolean {
  return addressRefusal(address) === 'wildcard';
}

/**
 * Check that `address` may be bound as the link address.
 *
 * @param allowWildcard - a simulated device may bind 0.0.0.0 or :: (development only); nothing else is relaxed
 * @param interfaces - the machine's interface addresses, to refuse a subnet's broadcast or network address
 *   ({@link subnetRefusal}); none: not checked
 * @throws OnepadError LINK_ADDRESS_REFUSED with `details.reason` from {@link AddressRefusal}
 */
export function checkLinkAddress(
  address: string,
  allowWildcard: boolean,
  interfaces: readonly InterfaceAddress[] = [],
): void {
  const reason = addressRefusal(address) ?? subnetRefusal(address, interfaces);
  if (reason === null) return;
  if (reason === 'wildcard' && allowWildcard) return;
  throw new OnepadError('LINK_ADDRESS_REFUSED', { field: 'link.address', reason }, reason);
}

/** The two addresses name the same host address (any textual form of it; same family). */
export function sameAddress(a: string, b: string): boolean {
  const fa = isIP(a);
  if (fa === 0 || fa !== isIP(b)) return false;
  const list = new BlockList();
  const family = fa === 4 ? 'ipv4' : 'ipv6';
  list.addAddress(a, family);
  return list.check(b, family);
}

/** `address:port` as it appears in a Host header and a URL: IPv6 in brackets. */
export function hostWithPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
