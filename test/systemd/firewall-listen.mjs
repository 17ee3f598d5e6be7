// Listen on every port given, on all addresses, and answer each connection with "ok". Test namespaces only.
import { createServer } from 'node:net';

for (const port of process.argv.slice(2).map(Number)) {
  createServer((s) => s.end('ok\n')).listen(port, '0.0.0.0');
}
console.log('listening');
