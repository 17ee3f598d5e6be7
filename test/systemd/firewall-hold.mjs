// Hold one TCP connection {host, port, from} open; for every line on stdin, send it and print "echo" if it came
// back within 1.5 s, "silent" otherwise. Run inside a test namespace.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const p = JSON.parse(process.argv[2]);
const s = connect({ host: p.host, port: p.port, localAddress: p.from });
let got = '';
s.on('data', (d) => {
  got += d.toString();
});
s.on('error', () => {});
s.once('data', () => console.log('connected'));
for await (const line of createInterface({ input: process.stdin })) {
  got = '';
  s.write(`${line}\n`);
  const t0 = Date.now();
  while (!got.includes(line) && Date.now() - t0 < 1500) await new Promise((r) => setTimeout(r, 50));
  console.log(got.includes(line) ? 'echo' : 'silent');
}
s.destroy();
