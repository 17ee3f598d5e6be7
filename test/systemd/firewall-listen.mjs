// Listen on every TCP port given, on all addresses (IPv4 and IPv6), answer each connection with "ok" and echo
// what it sends after. Test namespaces only.
import { createServer } from 'node:net';

for (const port of process.argv.slice(2).map(Number)) {
  createServer((s) => {
    s.on('error', () => {});
    s.write('ok\n');
    s.pipe(s);
  }).listen({ port, host: '::', ipv6Only: false });
}
console.log('listening');
