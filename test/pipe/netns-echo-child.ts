/** An echo service: `node --import tsx test/pipe/netns-echo-child.ts <address> <port>`; prints `ready`. */
import { writeSync } from 'node:fs';
import { createServer } from 'node:net';

const [address, port] = process.argv.slice(2);
createServer({ noDelay: true }, (s) => {
  s.on('error', () => s.destroy());
  s.pipe(s);
}).listen(Number(port), address, () => writeSync(1, 'ready\n'));
