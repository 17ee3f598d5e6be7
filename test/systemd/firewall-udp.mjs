// UDP for the firewall test, inside a test namespace:
//   listen PORT...            print {"port", "from"} for every datagram received on [::]:PORT (multicast included)
//   send JSON                 send one datagram per {host, port, from, fromPort}; print what each send returned
import { createSocket } from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
if (mode === 'listen') {
  // "listening" only once every socket is bound: the test starts sending when it reads that line.
  await Promise.all(
    args.map(Number).map((port) => {
      const s = createSocket({ type: 'udp6', reuseAddr: true });
      s.on('message', (_m, r) => console.log(JSON.stringify({ port, from: r.address })));
      return new Promise((r) => s.bind({ port, address: '::' }, r));
    }),
  );
  console.log('listening');
} else {
  const sends = JSON.parse(args[0]);
  const results = [];
  for (const p of sends) {
    const s = createSocket({ type: 'udp6', reuseAddr: true });
    s.on('error', () => {});
    await new Promise((r) => s.bind({ address: p.from, port: p.fromPort ?? 0 }, r));
    // A firewall dropping on output fails the send (EPERM): that is a result, not an error of this script.
    results.push(await new Promise((r) => s.send('ping', p.port, p.host, (e) => r(e ? e.code : 'sent'))));
    s.close();
  }
  console.log(JSON.stringify(results));
}
