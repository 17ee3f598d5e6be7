/**
 * The TAP end of `onepad pipe --tap NAME` (OTPTunnel and tappet style): a Linux TAP interface whose Ethernet
 * frames travel as ETHER records of a multiplexed channel (client/pipe-channel.ts).
 *
 * Node has no TUNSETIFF ioctl, and no maintained npm binding for it builds here (they are native addons built
 * with node-gyp, which fetches Node's headers from the network). socat (Debian's package, maintained, already
 * in .ci/apt-packages) opens /dev/net/tun and makes the TAP interface (`TUN,tun-type=tap,tun-name=NAME,
 * iff-no-pi,iff-up`); it hands us each frame as one UDP datagram on loopback and takes each datagram we send as one
 * frame, so frame boundaries are kept. Nothing of the pad or of any key passes through socat: it sees the frames
 * the kernel would put on the wire anyway, on this host only. Root (CAP_NET_ADMIN) is needed; run it inside a
 * network namespace to test it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { OnepadError } from '../device/errors.js';

/** A TAP interface joined to a datagram socket. */
export interface TapPort {
  readonly name: string;
  /** Send one frame out of the interface (into the kernel). */
  write(frame: Uint8Array): void;
  /** Frames the kernel sent through the interface. */
  onFrame(f: (frame: Uint8Array) => void): void;
  /** Resolves when socat ends (the interface is gone then). */
  readonly ended: Promise<void>;
  close(): Promise<void>;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function bindUdp(): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/**
 * Make TAP interface `name` (it must not exist) and join it to a loopback datagram socket through socat.
 * @throws OnepadError INVALID_ARGUMENT for a bad name; PIPE_TAP_FAILED (details.reason) when socat is missing,
 *   the interface cannot be made (not root, no /dev/net/tun, the name taken) or it does not appear in 10 s
 */
export async function openTap(name: string): Promise<TapPort> {
  if (!NAME_RE.test(name)) throw new OnepadError('INVALID_ARGUMENT', { option: 'tap' }, 'not an interface name');
  if (existsSync(`/sys/class/net/${name}`)) throw new OnepadError('PIPE_TAP_FAILED', { reason: 'name taken' });
  if (!existsSync('/dev/net/tun')) throw new OnepadError('PIPE_TAP_FAILED', { reason: 'no /dev/net/tun' });
  const ours = await bindUdp();
  // socat's own port: taken from the kernel, then handed to socat (inside this host's loopback).
  const probe = await bindUdp();
  const theirPort = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const ourPort = ours.address().port;
  let child: ChildProcess;
  try {
    child = spawn(
      'socat',
      [
        '-b65536',
        `TUN,tun-type=tap,tun-name=${name},iff-no-pi,iff-up`,
        `UDP-DATAGRAM:127.0.0.1:${ourPort},bind=127.0.0.1:${theirPort}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch {
    ours.close();
    throw new OnepadError('PIPE_TAP_FAILED', { reason: 'cannot run socat' });
  }
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  let exited = false;
  const ended = new Promise<void>((resolve) => {
    child.once('error', () => {
      exited = true;
      resolve();
    });
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const deadline = Date.now() + 10_000;
  while (!existsSync(`/sys/class/net/${name}`)) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGTERM');
      ours.close();
      const reason =
        /ENOENT|spawn/.test(stderr) || (exited && stderr === '')
          ? 'socat missing or failed'
          : 'cannot make the interface';
      throw new OnepadError('PIPE_TAP_FAILED', { reason });
    }
    await sleep(20);
  }
  const handlers: ((f: Uint8Array) => void)[] = [];
  ours.on('message', (msg, rinfo) => {
    // Only socat's port on loopback speaks to us.
    if (rinfo.address !== '127.0.0.1' || rinfo.port !== theirPort) return;
    for (const h of handlers) h(msg);
  });
  ours.on('error', () => undefined);
  return {
    name,
    write(frame) {
      if (!exited) ours.send(frame, theirPort, '127.0.0.1');
    },
    onFrame(f) {
      handlers.push(f);
    },
    ended,
    async close() {
      if (!exited) child.kill('SIGTERM');
      await ended;
      ours.close();
    },
  };
}
